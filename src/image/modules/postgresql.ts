// `services.postgresql`: Debian's PostgreSQL server. Adds the package, makes
// the data directory a volume, runs initdb (as `postgres`) when it is empty,
// runs the server as a long-run that says it is ready through the
// notification protocol (Debian builds it with libsystemd), stops it with
// SIGINT (fast shutdown: a checkpoint, then exit), and creates the declared
// users and databases once it is ready, idempotently.
import { array, boolean, integer, object, record, string } from '../../schema-language/schema.js';
import { defineModule, mkDefault, type Assertion } from './module.js';

const ABSOLUTE = /^\/[A-Za-z0-9._\/@+-]*$/;
const ABSOLUTE_HINT = 'an absolute path of letters, digits and . _ / @ + -';
// PostgreSQL's own rule for an unquoted identifier, which is also safe in a file name and a variable's value
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const IDENTIFIER_HINT = 'a lower-case SQL identifier (letters, digits, _; not starting with a digit; at most 63)';

const user = object({
  passwordFile: string({
    pattern: /^\//,
    patternHint: 'an absolute path',
    description: 'A file holding the password, mounted when the container runs (a secret; `berth build --kube` mounts it from the Secret). Without one the user logs in over the local socket only, as the system user of its name (peer).',
    example: '/run/secrets/app_password',
  }),
}, { title: 'PostgreSQL user' });

export const postgresql = defineModule({
  name: 'postgresql',
  mount: 'services',
  options: object({
    enable: boolean({ description: 'Run PostgreSQL as the long-run service `postgresql` (with the oneshots that prepare it and create its users and databases).' }),
    version: integer({ default: 15, minimum: 15, description: "The major version, as Debian's package names it (`postgresql-15`, bookworm's); 15 or later (the provisioning uses psql's `\\getenv`)." }),
    port: integer({ default: 5432, minimum: 1, description: 'The TCP port (1-65535); exposed by the image.' }),
    listenAddresses: string({
      default: 'localhost',
      pattern: /^[A-Za-z0-9.:*,_-]+$/,
      patternHint: 'addresses or host names separated by commas, or *',
      description: "PostgreSQL's `listen_addresses`: `localhost` for the container's own services, `*` for other pods too.",
    }),
    dataDir: string({ default: '/var/lib/postgresql/data', pattern: ABSOLUTE, patternHint: ABSOLUTE_HINT, description: 'The data directory: a volume of the image, initialised by initdb when empty.' }),
    databases: array(string({ pattern: IDENTIFIER, patternHint: IDENTIFIER_HINT }), { default: [], description: 'Databases made once the server is ready, unless they exist. One named like a user in `users` is owned by that user.', example: ['app'] }),
    users: record(user, {
      default: {},
      keyPattern: IDENTIFIER,
      keyHint: IDENTIFIER_HINT,
      description: 'Roles that can log in, made once the server is ready unless they exist; a password from `passwordFile` is set at every start.',
      example: { app: { passwordFile: '/run/secrets/app_password' } },
    }),
  }, { title: 'PostgreSQL', description: 'The PostgreSQL database server, from Debian.' }),

  config(cfg) {
    const bin = `/usr/lib/postgresql/${cfg.version}/bin`;
    const data = cfg.dataDir;
    const users = Object.entries(cfg.users);
    const assertions: Assertion[] = [
      { assertion: cfg.port <= 65535, message: `services.postgresql.port: ${cfg.port} is not a port (1-65535)` },
      { assertion: data !== '/run/postgresql', message: 'services.postgresql.dataDir: /run/postgresql is the socket directory; give the data a directory of its own' },
    ];
    // the passwords reach psql as variables of the provisioning task's own environment, never on a command line
    const passwords = Object.fromEntries(users.filter(([, u]) => u.passwordFile).map(([name, u]) => [passwordVariable(name), u.passwordFile!]));
    return {
      assertions,
      config: {
        packages: [`postgresql-${cfg.version}`],
        image: { volumes: [data], exposedPorts: { [`${cfg.port}/tcp`]: {} } },
        services: {
          'postgresql-setup': {
            type: 'oneshot-pre',
            // a fresh volume is root's: the server wants its data 0700 and its own, and a socket directory
            script: `install -d -o postgres -g postgres -m 0700 ${data} && install -d -o postgres -g postgres -m 2775 /run/postgresql`,
          },
          'postgresql-initdb': {
            type: 'oneshot-pre',
            after: ['postgresql-setup'],
            user: 'postgres',
            script: `[ -s ${data}/PG_VERSION ] || exec ${bin}/initdb -D ${data} -U postgres --encoding=UTF8 --auth-local=peer --auth-host=scram-sha-256`,
          },
          postgresql: {
            after: ['postgresql-initdb'],
            user: 'postgres',
            execStart: [
              `${bin}/postgres`, '-D', data,
              '-c', `listen_addresses=${cfg.listenAddresses}`,
              '-c', `port=${cfg.port}`,
              '-c', 'unix_socket_directories=/run/postgresql',
              // the init relays stderr; no log files inside the data volume
              '-c', 'logging_collector=off',
            ],
            readiness: mkDefault({ notify: true }),
            // SIGINT is PostgreSQL's fast shutdown: clients cut, a checkpoint written, then exit; SIGTERM waits for every client
            stopSignal: mkDefault('SIGINT'),
            stopTimeout: mkDefault('60s'),
            restartOnFailure: mkDefault(true),
          },
          ...(users.length || cfg.databases.length ? {
            'postgresql-provision': {
              type: 'oneshot-post',
              after: ['postgresql'],
              user: 'postgres',
              ...(Object.keys(passwords).length ? { environmentFromFiles: passwords } : {}),
              script: provisionScript(cfg.port, users.map(([name, u]) => ({ name, password: u.passwordFile ? passwordVariable(name) : undefined })), cfg.databases),
            },
          } : {}),
        },
      },
    };
  },
});

const passwordVariable = (user: string): string => `BERTH_PG_PASSWORD_${user.toUpperCase()}`;

/**
 * psql over the local socket as `postgres`: each role and database made
 * unless it exists (`\gexec` runs the statement the query formats, none when
 * it returns no row), each password read from the task's environment by
 * psql itself (`\getenv`, psql 15) and quoted by it (`:'pw'`): a password is
 * never part of a command line.
 */
function provisionScript(port: number, users: { name: string; password?: string }[], databases: string[]): string {
  const psql = `psql -X -q -v ON_ERROR_STOP=1 -h /run/postgresql -p ${port} -U postgres -d postgres`;
  const lines = ['set -eu'];
  for (const u of users) {
    lines.push(`${psql} -v name=${u.name} <<'SQL'`,
      "SELECT format('CREATE ROLE %I LOGIN', :'name') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name')\\gexec",
      ...(u.password ? [`\\getenv pw ${u.password}`, "SELECT format('ALTER ROLE %I PASSWORD %L', :'name', :'pw')\\gexec"] : []),
      'SQL');
  }
  const names = new Set(users.map((u) => u.name));
  for (const db of databases) {
    // a database of a user's name is that user's (NixOS's ensureDBOwnership): it may create tables in it
    const owner = names.has(db);
    lines.push(`${psql} -v name=${db} <<'SQL'`,
      "SELECT format('CREATE DATABASE %I', :'name') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')\\gexec",
      ...(owner ? ["SELECT format('ALTER DATABASE %I OWNER TO %I', :'name', :'name')\\gexec"] : []),
      'SQL');
  }
  lines.push(`echo "postgresql: ${users.length} user${users.length === 1 ? '' : 's'} and ${databases.length} database${databases.length === 1 ? '' : 's'} in place"`);
  return `${lines.join('\n')}\n`;
}
