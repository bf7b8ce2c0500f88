/**
 * @tributary/web: a live view of a running Tributary job in the browser.
 * @packageDocumentation
 */
export { startJobView, type JobViewOptions, type JobViewServer } from './startJobView.js';
export type * from './api.js';
