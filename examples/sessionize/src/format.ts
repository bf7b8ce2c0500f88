import type { Session } from './sessionize.js';

/** The log starts at 09:00:00; a log second as a time of day. */
export function timeOfDay(second: number): string {
  const total = 9 * 3600 + second;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(Math.floor(total / 3600) % 24)}:${two(Math.floor(total / 60) % 60)}:${two(total % 60)}`;
}

/** One line per closed session: when, who, how many clicks, and the path through the site. */
export function formatSession(session: Session): string {
  const minutes = Math.round((session.lastSecond - session.firstSecond) / 60);
  const path = session.pages.length > 6 ? [...session.pages.slice(0, 5), `… (${session.pages.length - 5} more)`] : session.pages;
  return (
    `${timeOfDay(session.firstSecond)}-${timeOfDay(session.lastSecond)}  ${session.user.padEnd(6)}` +
    ` ${String(session.pages.length).padStart(2)} clicks ${String(minutes).padStart(3)} min  ${path.join(' > ')}`
  );
}
