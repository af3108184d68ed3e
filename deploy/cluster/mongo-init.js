// One-shot `mongo-init` of docker-compose.cluster.yml: initiates the
// three-member replica set rs0 and waits until it has a writable primary and
// a majority of healthy members. Idempotent: on a set that is already
// initiated it only waits (it never reconfigures a running set).
//
// Run against mongo-1, which holds the root user and the service users
// (created by deploy/mongo/create-users.js on the first start of its empty
// volume). mongo-2 and mongo-3 start empty, without users, and copy
// everything from the primary by initial sync: rs.initiate refuses members
// that already hold data.
//
// By hand (as in docs/operations.md):
//   docker-compose -f docker-compose.cluster.yml run --rm mongo-init

const env = process.env;
const admin = db.getSiblingDB("admin");
admin.auth(env.MONGO_INITDB_ROOT_USERNAME, env.MONGO_INITDB_ROOT_PASSWORD);

const hosts = (env.LIANXIN_RS_MEMBERS || "mongo-1:27017,mongo-2:27017,mongo-3:27017").split(",");
const waitSeconds = parseInt(env.LIANXIN_RS_WAIT_SECONDS || "180", 10);

function initiated() {
    try {
        rs.status();
        return true;
    } catch (e) {
        if (e.codeName === "NotYetInitialized" || e.code === 94) {
            return false;
        }
        throw e;
    }
}

if (!initiated()) {
    // mongo-1 is preferred as primary (priority 2) while it is healthy.
    const config = {
        _id: "rs0",
        members: hosts.map((host, i) => ({ _id: i, host: host, priority: i === 0 ? 2 : 1 })),
    };
    printjson(rs.initiate(config));
    print("mongo-init: initiated rs0 with " + hosts.join(", "));
} else {
    const names = rs.conf().members.map(m => m.host);
    print("mongo-init: rs0 already initiated with " + names.join(", "));
    if (hosts.some(h => !names.includes(h))) {
        print("mongo-init: WARNING: the set does not list every member of LIANXIN_RS_MEMBERS; " +
              "add them with rs.add() (docs/operations.md)");
    }
}

const deadline = Date.now() + waitSeconds * 1000;
for (;;) {
    const members = rs.status().members;
    const primary = members.find(m => m.stateStr === "PRIMARY");
    const healthy = members.filter(m => m.health === 1 && (m.stateStr === "PRIMARY" || m.stateStr === "SECONDARY"));
    if (primary && healthy.length > members.length / 2) {
        print("mongo-init: primary " + primary.name + "; healthy: " + healthy.map(m => m.name).join(", "));
        break;
    }
    if (Date.now() > deadline) {
        throw new Error("rs0 has no writable primary with a healthy majority after " + waitSeconds + "s: " +
                        members.map(m => m.name + " " + m.stateStr).join(", "));
    }
    sleep(1000);
}
