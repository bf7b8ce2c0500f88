const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Whether a server listening on `listenHost` answers a request whose `Host`
 * header is `hostHeader`: on a loopback address, only requests named for this
 * machine. A web page elsewhere could otherwise point a DNS name at 127.0.0.1
 * and read the server's answers from the user's browser (DNS rebinding). For
 * the HTTP servers that show a job's metrics (the job view, the Prometheus
 * endpoint); a server on another address is reachable by name anyway.
 */
export function hostHeaderAllowed(hostHeader: string | undefined, listenHost: string): boolean {
  if (!LOOPBACK.has(listenHost.toLowerCase())) return true;
  const name = (hostHeader ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return LOOPBACK.has(name);
}
