// MongoDB users of Lianxin: one per service, each with readWrite on its own
// database only (`<LIANXIN_DB_PREFIX>_<service>`, as ServiceResources in
// shared/lianxin/nameko/extensions.py names it). Every service also gets an
// append-only role on the audit database (`<prefix>_audit`): find and insert
// (and listing), but NO update, remove or index changes, so the
// application cannot rewrite or delete audit entries (the retention TTL index
// is applied by MongoDB itself).
//
// When it runs:
//  * first start of an empty data volume: the mongo image's entrypoint runs
//    /docker-entrypoint-initdb.d/*.js against a temporary, local-only mongod
//    (started without --replSet, --keyFile and --auth, right after creating
//    the root user from MONGO_INITDB_ROOT_*); the users land in admin and
//    stay when the real mongod starts and the healthcheck initiates rs0.
//  * by an operator, at any time, as root (idempotent: creates or updates
//    users and the role, so it also applies changed passwords):
//      docker compose exec mongo sh -c 'mongosh --quiet -u "$MONGO_INITDB_ROOT_USERNAME" \
//        -p "$MONGO_INITDB_ROOT_PASSWORD" --authenticationDatabase admin \
//        /docker-entrypoint-initdb.d/10-create-users.js'
//    (e.g. for a volume initialised before authentication was switched on).
//
// Passwords come from LIANXIN_MONGO_PASSWORD_<SERVICE> in the container's
// environment (docker-compose.yml, development defaults there: change them).

const env = process.env;
const prefix = env.LIANXIN_DB_PREFIX || "lianxin";
const services = ["membership", "activities", "inspections", "honours", "reporting", "gateway"];
const admin = db.getSiblingDB("admin");
const auditRole = "lianxinAuditAppendOnly";

function passwordOf(service) {
    const name = "LIANXIN_MONGO_PASSWORD_" + service.toUpperCase();
    const value = env[name];
    if (!value) {
        throw new Error(name + " is not set: every service needs a MongoDB password");
    }
    return value;
}

function upsertRole(role, privileges) {
    if (admin.getRole(role)) {
        admin.updateRole(role, { privileges: privileges, roles: [] });
    } else {
        admin.createRole({ role: role, privileges: privileges, roles: [] });
    }
}

function upsertUser(user, pwd, roles) {
    if (admin.getUser(user)) {
        admin.updateUser(user, { pwd: pwd, roles: roles });
    } else {
        admin.createUser({ user: user, pwd: pwd, roles: roles });
    }
    print("lianxin: user " + user + " -> " + roles.map(r => r.role + "@" + r.db).join(", "));
}

// The audit log's collection and indexes are made here, as root, not by the
// gateway: an application that may create indexes could add a TTL index of
// 0 seconds and so empty the log. The retention (LIANXIN_AUDIT_RETENTION_DAYS,
// default 180) is a TTL index that MongoDB applies itself; run this script
// again after changing it (collMod changes the index in place).
const auditDb = db.getSiblingDB(prefix + "_audit");
const retentionSeconds = parseInt(env.LIANXIN_AUDIT_RETENTION_DAYS || "180", 10) * 86400;
if (!(retentionSeconds > 0)) {
    throw new Error("LIANXIN_AUDIT_RETENTION_DAYS must be a whole number of days above 0");
}
if (!auditDb.getCollectionNames().includes("entries")) {
    auditDb.createCollection("entries");
}
const retention = auditDb.entries.getIndexes().find(i => i.name === "retention");
if (!retention) {
    auditDb.entries.createIndex({ at: 1 }, { name: "retention", expireAfterSeconds: retentionSeconds });
} else if (retention.expireAfterSeconds !== retentionSeconds) {
    auditDb.runCommand({ collMod: "entries", index: { name: "retention", expireAfterSeconds: retentionSeconds } });
}
auditDb.entries.createIndex({ "who.key_id": 1, at: -1 }, { name: "by_key" });
print("lianxin: audit log " + prefix + "_audit.entries kept " + retentionSeconds / 86400 + " days");

// Append-only on the audit database: find and insert, nothing else (no update,
// remove, createIndex, dropIndex, collMod, dropCollection, renameCollection).
upsertRole(auditRole, [{
    resource: { db: prefix + "_audit", collection: "" },
    actions: ["find", "insert", "listIndexes", "listCollections"],
}]);

for (const service of services) {
    const roles = [{ role: "readWrite", db: prefix + "_" + service }];
    // Every service appends to the audit log: the gateway for HTTP writes
    // and unmasked reads, the others for writes that came by intake.
    roles.push({ role: auditRole, db: "admin" });
    upsertUser(service, passwordOf(service), roles);
}
