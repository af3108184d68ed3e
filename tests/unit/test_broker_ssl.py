"""AMQP_SSL: one reading of the broker's TLS options for nameko's and Lianxin's connections."""
import ssl
from pathlib import Path

import pytest
import yaml

from lianxin import broker_ssl
from lianxin.broker_ssl import BrokerTlsError, options

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def certs(tmp_path):
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("-----BEGIN PLACEHOLDER-----\n")
    return tmp_path


def test_unset_means_plain_amqp_and_amqps_alone_means_tls_with_system_cas():
    assert options(env={}) is None
    assert options({"AMQP_SSL": None}, env={}) is None
    assert options(env={"AMQP_SSL": ""}, uri="amqp://u:p@h/") is None
    assert options(env={}, uri="amqps://u:p@h:5671/") is True
    assert options(env={"AMQP_SSL": "true"}) is True


def test_a_mapping_from_the_environment_is_checked_and_normalised(certs):
    raw = (f'{{"ca_certs": "{certs}/ca.pem", "certfile": "{certs}/client.pem", "keyfile": "{certs}/client.key",'
           f' "server_hostname": null, "cert_reqs": "required", "tls_minimum_version": "TLSv1_2"}}')
    opts = options(env={"AMQP_SSL": raw})
    assert opts == {"ca_certs": f"{certs}/ca.pem", "certfile": f"{certs}/client.pem",
                    "keyfile": f"{certs}/client.key", "server_hostname": None,
                    "cert_reqs": ssl.CERT_REQUIRED, "tls_minimum_version": ssl.TLSVersion.TLSv1_2}
    assert options(env={"AMQP_SSL": raw}) is not opts  # a fresh dict each time (kombu writes into it)
    assert options(env={"AMQP_SSL": f"ca_certs: {certs}/ca.pem\ncert_reqs: 2"})["cert_reqs"] == ssl.CERT_REQUIRED


def test_a_nameko_config_value_comes_before_the_environment(certs):
    config = {"AMQP_SSL": {"ca_certs": str(certs / "ca.pem")}}
    assert options(config, env={"AMQP_SSL": "true"}) == {"ca_certs": str(certs / "ca.pem")}


@pytest.mark.parametrize("raw, message", [
    ('{"ca_cert": "/x"}', "unknown option"),
    ('{"ca_certs": "/nonexistent/ca.pem"}', "not readable"),
    ('{"cert_reqs": "sometimes"}', "cert_reqs"),
    ('{"tls_minimum_version": "SSLv2"}', "TLS version"),
    ('[1, 2]', "mapping"),
    ('{"ca_certs": ', "YAML/JSON"),
])
def test_a_bad_value_fails_loudly_at_connect_time(raw, message):
    with pytest.raises(BrokerTlsError, match=message):
        options(env={"AMQP_SSL": raw})


def test_a_key_without_its_certificate_is_refused(certs):
    with pytest.raises(BrokerTlsError, match="keyfile without certfile"):
        options(env={"AMQP_SSL": f'{{"keyfile": "{certs}/client.key"}}'})


def test_connection_passes_the_options_to_kombu(certs, monkeypatch):
    monkeypatch.setenv("AMQP_SSL", f'{{"ca_certs": "{certs}/ca.pem", "server_hostname": null}}')
    conn = broker_ssl.connection("amqps://u:p@rabbitmq:5671/", connect_timeout=1)
    assert conn.ssl == {"ca_certs": f"{certs}/ca.pem", "server_hostname": None}
    assert conn.connect_timeout == 1
    monkeypatch.delenv("AMQP_SSL")
    assert broker_ssl.connection("amqp://u:p@rabbitmq:5672/").ssl is False
    assert broker_ssl.connection("amqp://u:p@h/", ssl={"ca_certs": "given"}).ssl == {"ca_certs": "given"}


def test_the_publisher_and_consumer_take_their_tls_options_from_the_helper(monkeypatch):
    from lianxin.consumer import BatchConsumer
    from lianxin.publisher import ConfirmPublisher
    seen = []
    monkeypatch.setattr(broker_ssl, "connection", lambda uri, ssl=None, **kw: seen.append((uri, ssl)) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        ConfirmPublisher("amqps://u:p@h/", ssl={"ca_certs": "x"}).connect()
    consumer = BatchConsumer("amqps://u:p@h/", topology_sub(), lambda e: [], record_rejections=lambda r: None,
                             ssl=True)
    with pytest.raises(ZeroDivisionError):
        consumer._connect()
    assert seen == [("amqps://u:p@h/", {"ca_certs": "x"}), ("amqps://u:p@h/", True)]
    assert consumer.publisher.ssl is True


def topology_sub():
    from lianxin import topology
    return topology.subscription("membership.intake")


def test_deploy_config_and_the_tls_override_agree_with_the_helper(certs, monkeypatch):
    """nameko's reading of deploy/config.yml and ours give the same options."""
    from nameko.cli.main import setup_yaml_parser
    setup_yaml_parser()
    config_text = (ROOT / "deploy" / "config.yml").read_text()
    monkeypatch.delenv("AMQP_SSL", raising=False)
    assert yaml.safe_load(config_text)["AMQP_SSL"] is None  # unset: no TLS for nameko either
    override = yaml.safe_load((ROOT / "docker-compose.tls.yml").read_text())
    value = override["services"]["membership"]["environment"]["AMQP_SSL"]
    value = value.replace("/etc/lianxin/tls", str(certs))
    monkeypatch.setenv("AMQP_SSL", value)
    nameko_sees = yaml.safe_load(config_text)["AMQP_SSL"]
    assert nameko_sees == options() == {"ca_certs": f"{certs}/ca.pem", "certfile": f"{certs}/client.pem",
                                        "keyfile": f"{certs}/client.key", "server_hostname": None}
