import { DelayProxy, type ProxyRoute } from './delay-proxy.js';

/**
 * The delay proxy as a process (bench/network starts it in a namespace of its test
 * network): `node delay-proxy-main.js <oneWayMs> <routes as JSON>`. Prints "ready" once
 * it listens; SIGTERM ends it.
 */
const oneWayMs = Number(process.argv[2]);
const routes = JSON.parse(process.argv[3] ?? '[]') as ProxyRoute[];
const proxy = new DelayProxy(oneWayMs);
for (const route of routes) await proxy.listen(route);
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  proxy.close();
  process.exit(0);
});
