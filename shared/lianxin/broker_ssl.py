"""TLS for every broker connection, from one setting: AMQP_SSL.

nameko hands its config key AMQP_SSL to kombu's `Connection(ssl=...)` for
its own connections (RPC, replies); deploy/config.yml fills that key from
the environment variable of the same name (`AMQP_SSL: ${AMQP_SSL:}`, so
unset means no TLS). Lianxin's own connections (the relay's publisher, the
batch consumers, reporting's backlog check) read the same value here, so
both kinds of connection agree.

The value is a mapping (YAML or JSON in the environment) of py-amqp's TLS
options, e.g. in production (docker-compose.tls.yml):

    AMQP_URI=amqps://membership:...@rabbitmq:5671/
    AMQP_SSL={"ca_certs": "/certs/ca.pem", "certfile": "/certs/client.pem",
              "keyfile": "/certs/client.key", "server_hostname": null}

  ca_certs         CA bundle that signed the broker's certificate
  certfile/keyfile the client's certificate and key (the broker requires one:
                   fail_if_no_peer_cert in deploy/rabbitmq/rabbitmq-tls.conf)
  server_hostname  null: kombu fills in the URI's host, which turns on
                   hostname verification of the broker's certificate
  cert_reqs        optional; the default already requires a valid certificate.
                   Give it as a number (2 = CERT_REQUIRED): nameko passes it
                   on unchanged, and only a number works there.

`true` (or an `amqps://` URI with AMQP_SSL unset) means TLS with the
system's CA store and no client certificate.
"""
from __future__ import annotations

import os
import ssl
from typing import Mapping

import yaml

ENV = "AMQP_SSL"
FILES = ("ca_certs", "certfile", "keyfile")
KNOWN = {*FILES, "cert_reqs", "server_hostname", "ciphers", "tls_minimum_version", "tls_maximum_version"}
_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


class BrokerTlsError(ValueError):
    """AMQP_SSL is malformed or names a file this process cannot read."""


def options(config: Mapping | None = None, env: Mapping | None = None, uri: str | None = None):
    """kombu's `ssl=` argument: a dict of TLS options, True, or None (plain AMQP).

    From `config["AMQP_SSL"]` (a nameko config) when set, else the AMQP_SSL
    environment variable; an `amqps://` uri with neither set gives True.
    A fresh dict each call (kombu writes server_hostname into it).
    """
    env = os.environ if env is None else env
    raw = config.get(ENV) if config is not None else None
    if raw in (None, ""):
        raw = env.get(ENV)
    value = _parse(raw)
    if value is None and uri and uri.lower().startswith("amqps://"):
        return True
    if value is None or value is True:
        return value
    return _checked(dict(value))


def connection(uri: str, ssl=None, config: Mapping | None = None, **kwargs):
    """A kombu Connection to `uri` with the TLS options of AMQP_SSL (or `ssl`, when given)."""
    import kombu

    tls = options(config, uri=uri) if ssl is None else ssl
    return kombu.Connection(uri, ssl=tls or False, **kwargs)


def _parse(raw):
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise BrokerTlsError(f"{ENV} is not a YAML/JSON mapping: {exc}") from None
    if raw is None or raw is False:
        return None
    if raw is True:
        return True
    if not isinstance(raw, Mapping):
        raise BrokerTlsError(f"{ENV} must be a mapping of TLS options or true, not {type(raw).__name__}")
    return raw


def _checked(opts: dict) -> dict:
    unknown = sorted(set(opts) - KNOWN)
    if unknown:
        raise BrokerTlsError(f"{ENV}: unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(KNOWN))})")
    for key in FILES:
        path = opts.get(key)
        if path is None:
            opts.pop(key, None)
        elif not os.access(str(path), os.R_OK):
            raise BrokerTlsError(f"{ENV}: {key} {path!r} does not exist or is not readable")
    if opts.get("keyfile") and not opts.get("certfile"):
        raise BrokerTlsError(f"{ENV}: keyfile without certfile")
    if "cert_reqs" in opts:
        opts["cert_reqs"] = _cert_reqs(opts["cert_reqs"])
    for key in ("tls_minimum_version", "tls_maximum_version"):
        if key in opts:
            opts[key] = _tls_version(opts[key])
    return opts


def _cert_reqs(value):
    if isinstance(value, ssl.VerifyMode):
        return value
    if isinstance(value, int):
        return ssl.VerifyMode(value)
    name = str(value).lower().removeprefix("cert_")
    if name not in _CERT_REQS:
        raise BrokerTlsError(f"{ENV}: cert_reqs must be none, optional or required, not {value!r}")
    return _CERT_REQS[name]


def _tls_version(value):
    if isinstance(value, ssl.TLSVersion):
        return value
    name = str(value).upper().replace(".", "_").replace("TLSV", "")
    try:
        return ssl.TLSVersion[f"TLSv{name}"]
    except KeyError:
        raise BrokerTlsError(f"{ENV}: unknown TLS version {value!r} (e.g. TLSv1_2, TLSv1_3)") from None
