"""The generated broker accounts (deploy/rabbitmq/definitions.json) on the real broker.

The definitions are imported into a throwaway vhost as the broker imports
them at boot (topology, users, permissions, topic permissions), then real
connections show what each account may and may not do, and that a service
and the gateway actually run under their own accounts.
"""
import amqp
import kombu
import pytest
from nameko.containers import ServiceContainer
from nameko.rpc import RpcProxy
from nameko.testing.services import dummy, entrypoint_hook

from lianxin import topology
from lianxin.envelope import new_event_id
from services.membership.service import MembershipService
from tests.support.broker import Accounts, Vhost
from tests.support.system import eventually

EVENTS, INTAKE = topology.EVENTS_EXCHANGE, topology.INTAKE_EXCHANGE


@pytest.fixture(scope="module")
def accounts():
    with Vhost("lianxin-perm") as vhost, Accounts(vhost) as accounts:
        yield accounts


class Session:
    """One connection and channel as `account`, in confirm mode."""

    def __init__(self, accounts: Accounts, account: str):
        self.conn = kombu.Connection(accounts.uri(account))
        self.conn.ensure_connection(max_retries=1)
        self.connection: amqp.Connection = self.conn.connection
        self.channel = self.connection.channel()
        self.channel.confirm_select()

    def publish(self, exchange: str, routing_key: str, body: bytes = b"{}") -> None:
        """Returns once the broker confirmed it; raises on a refusal."""
        self.channel.basic_publish_confirm(amqp.Message(body, message_id=new_event_id()),
                                           exchange=exchange, routing_key=routing_key, confirm_timeout=5)

    def refused(self, action) -> bool:
        """True when the broker refuses `action(channel)` with 403 (ACCESS_REFUSED);
        the channel is closed by then, so a fresh one replaces it."""
        try:
            action(self.channel)
        except amqp.exceptions.AccessRefused:
            self.channel = self.connection.channel()
            self.channel.confirm_select()
            return True
        return False

    def close(self):
        self.conn.release()


@pytest.fixture
def session(accounts):
    opened = []

    def open_(account):
        opened.append(Session(accounts, account))
        return opened[-1]
    yield open_
    for s in opened:
        s.close()


def depth(accounts: Accounts, queue: str) -> int:
    with kombu.Connection(accounts.vhost.uri) as conn:  # guest: full rights in the test vhost
        return conn.channel().queue_declare(queue, passive=True).message_count


def purge(accounts: Accounts, *queues: str) -> None:
    with kombu.Connection(accounts.vhost.uri) as conn:
        channel = conn.channel()
        for queue in queues:
            channel.queue_purge(queue)


def test_intake_may_only_publish_to_the_intake_exchange(accounts, session):
    intake = session("intake")
    intake.publish(INTAKE, "member_registered")  # (a) confirmed
    for exchange, key in ((EVENTS, "member_registered"), (topology.RETRY_EXCHANGE, "membership.intake.retry.1s"),
                          (topology.DEAD_LETTER_EXCHANGE, "membership.intake"), ("nameko-rpc", "membership.health"),
                          ("", "membership.intake"), (topology.UNROUTED_EXCHANGE, "")):
        assert intake.refused(lambda ch: intake.publish(exchange, key)), f"intake published to {exchange!r}"  # (b)
    # (c) no reading, no consuming, no declaring, no binding
    assert intake.refused(lambda ch: ch.basic_get("membership.intake"))
    assert intake.refused(lambda ch: ch.basic_consume("reporting.events", callback=lambda m: None))
    assert intake.refused(lambda ch: ch.queue_declare("intake-own-queue"))
    assert intake.refused(lambda ch: ch.exchange_declare(INTAKE, "topic", durable=True))
    assert intake.refused(lambda ch: ch.queue_bind("membership.intake", INTAKE, "#"))
    assert intake.refused(lambda ch: ch.queue_purge("membership.intake"))
    # ...but it may check that its exchange exists (passive declares need no permission)
    intake.channel.exchange_declare(INTAKE, "topic", passive=True)


def test_a_service_publishes_only_the_event_types_it_owns(accounts, session):
    membership = session("membership")
    before = depth(accounts, "reporting.events")
    membership.publish(EVENTS, "member_registered")  # (d) its own type: confirmed and routed
    eventually(lambda: depth(accounts, "reporting.events") == before + 1, message="routed to reporting.events")
    for other in ("activity_held", "honour_awarded", "report_published", "#", "nonsense"):
        assert membership.refused(lambda ch: membership.publish(EVENTS, other)), f"membership published {other}"
    reporting = session("reporting")
    reporting.publish(EVENTS, "report_published")
    assert reporting.refused(lambda ch: reporting.publish(EVENTS, "member_registered"))


def test_a_service_reads_only_its_own_queues_and_calls_no_other_service(accounts, session):
    membership = session("membership")
    membership.channel.basic_get("membership.intake", no_ack=True)  # its own queue: allowed
    for queue in ("honours.intake", "reporting.events", "activities.events", "membership.intake.dead",
                  "rpc-honours"):
        assert membership.refused(lambda ch: ch.basic_get(queue)), f"membership read {queue}"
    assert membership.refused(lambda ch: membership.publish(INTAKE, "member_registered"))
    assert membership.refused(lambda ch: ch.queue_declare("membership.intake", durable=True, arguments={
        "x-dead-letter-exchange": topology.DEAD_LETTER_EXCHANGE, "x-dead-letter-routing-key": "membership.intake"}))
    assert membership.refused(lambda ch: ch.exchange_delete(EVENTS))
    assert membership.refused(lambda ch: ch.queue_delete("reporting.events"))
    # nameko-rpc: replies (uuid keys) only, not requests to other services
    membership.publish("nameko-rpc", new_event_id())
    assert membership.refused(lambda ch: membership.publish("nameko-rpc", "honours.award_honour"))
    gateway = session("gateway")
    for exchange, key in ((EVENTS, "member_registered"), (INTAKE, "honour_awarded"), (INTAKE, "activity_held"),
                          (INTAKE, "org_unit_created"), ("nameko-rpc", new_event_id())):
        assert gateway.refused(lambda ch: gateway.publish(exchange, key)), f"gateway published {key} to {exchange}"
    # the HTTP writes it queues in a broker outage, as the intake commands they are (services/gateway/outage.py)
    gateway.publish(INTAKE, "member_registered")
    assert gateway.refused(lambda ch: ch.basic_get("membership.intake"))
    assert gateway.refused(lambda ch: ch.queue_declare("rpc-membership", durable=True))
    # bindings on nameko-rpc are checked against the topic permission's read pattern:
    # the gateway's reply queue takes uuid keys, never another service's requests
    reply_key = new_event_id()
    reply_queue = f"rpc.reply-gateway-{reply_key}"
    gateway.channel.queue_declare(reply_queue, arguments={"x-expires": 60_000})
    gateway.channel.queue_bind(reply_queue, "nameko-rpc", reply_key)
    assert gateway.refused(lambda ch: ch.queue_bind(reply_queue, "nameko-rpc", "membership.*"))
    assert gateway.refused(lambda ch: ch.queue_declare("rpc.reply-standalone_rpc_proxy-x"))
    membership.channel.queue_declare("rpc-membership", durable=True, auto_delete=False)  # as nameko does
    assert membership.refused(lambda ch: ch.queue_bind("rpc-membership", "nameko-rpc", "honours.*"))


class Gateway:
    """The gateway's RPC side (as services/gateway/service.py has it), on a test entrypoint."""
    name = "gateway"
    membership = RpcProxy("membership")

    @dummy
    def create_org_unit(self, body):
        return self.membership.create_org_unit(body)


def test_a_service_and_the_gateway_run_under_their_own_accounts(accounts):
    """(e) membership starts as `membership` (checks the topology, consumes its
    intake queue, serves RPC, relays its events, parks a bad intake message);
    the gateway's RpcProxy works as `gateway`."""
    common = {"DB_PREFIX": f"perm{new_event_id()[:8]}", "serializer": "json", "max_workers": 4,
              "METRICS_PORT": 0, "LIANXIN_ADMIN_TOKEN": "perm-test"}
    membership = ServiceContainer(MembershipService, {**common, "AMQP_URI": accounts.uri("membership")})
    gateway = ServiceContainer(Gateway, {**common, "AMQP_URI": accounts.uri("gateway")})
    purge(accounts, "membership.intake", "membership.intake.dead")
    membership.start()
    try:
        consumers = [e.consumer for e in membership.entrypoints if hasattr(e, "consumer")]
        eventually(lambda: all(c.ready for c in consumers), timeout=10, message="membership consuming")
        gateway.start()
        reported = depth(accounts, "reporting.events")
        with entrypoint_hook(gateway, "create_org_unit") as create:
            reply = create({"id": "wgz", "name": "王哥庄街道", "level": "street"})
        assert reply["status"] == 201, reply
        # the relay published org_unit_created as `membership` (topic permission: its own type)
        eventually(lambda: depth(accounts, "reporting.events") > reported, timeout=10,
                   message="org_unit_created relayed to reporting.events")
        # an invalid intake message: consumed from membership.intake and parked through lianxin.dlx
        intake = Session(accounts, "intake")
        intake.publish(INTAKE, "member_registered", b'{"not": "an envelope"}')
        intake.close()
        eventually(lambda: depth(accounts, "membership.intake.dead") == 1, timeout=10,
                   message="bad intake parked in membership.intake.dead")
    finally:
        gateway.stop()
        membership.stop()
