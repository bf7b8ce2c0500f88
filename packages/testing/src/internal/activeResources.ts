/**
 * libuv requests: operations under way (a file system call on the thread
 * pool, a DNS lookup, a socket write or connect) that end by themselves.
 * Handles (open files, sockets, pipes, timers) may stay open for ever, so
 * they are not work in flight.
 */
const REQUEST = /Req|^(Write|Shutdown|Send)Wrap$|ConnectWrap$/;

/** The process's active libuv resources, split into requests in flight and open handles (immediates left out). */
export function activeResources(): { readonly requests: readonly string[]; readonly handles: readonly string[] } {
  const requests: string[] = [];
  const handles: string[] = [];
  for (const type of process.getActiveResourcesInfo()) {
    if (type === 'Immediate') continue;
    (REQUEST.test(type) ? requests : handles).push(type);
  }
  return { requests, handles };
}

/** `['FSReqPromise', 'PipeWrap', 'FSReqPromise']` as `2 FSReqPromise, 1 PipeWrap`, or `none`. */
export function countByType(types: readonly string[]): string {
  if (types.length === 0) return 'none';
  const counts = new Map<string, number>();
  for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
  return [...counts].map(([type, n]) => `${n} ${type}`).join(', ');
}
