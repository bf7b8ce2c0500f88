import { expect, it } from 'vitest';
import { hostHeaderAllowed } from '../src/index.js';

it('on a loopback address answers only requests named for this machine, whatever the case of either name', () => {
  for (const listen of ['127.0.0.1', '::1', 'localhost', 'LOCALHOST']) {
    for (const host of ['127.0.0.1:9464', '[::1]:9464', 'localhost', 'LocalHost:80']) expect(hostHeaderAllowed(host, listen)).toBe(true);
    // DNS rebinding: a page of evil.example pointed its name at 127.0.0.1.
    for (const host of ['evil.example', 'evil.example:9464', '127.0.0.1.evil.example', undefined]) expect(hostHeaderAllowed(host, listen)).toBe(false);
  }
  // Elsewhere the server is reachable by any name anyway.
  expect(hostHeaderAllowed('evil.example', '0.0.0.0')).toBe(true);
});
