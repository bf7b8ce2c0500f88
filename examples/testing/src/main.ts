import { geocodeJob } from './job.js';

const requests = [
  { id: 'r1', payload: '10 Downing Street, London' },
  { id: 'r2', payload: '1 Nowhere Lane, Atlantis' },
  { id: 'r1', payload: '10 Downing Street, London' },
  { id: 'r3', payload: 'Unter den Linden 1, Berlin' },
];
const places = { '10 Downing Street, London': { lat: 51.5, lon: -0.13 }, 'Unter den Linden 1, Berlin': { lat: 52.52, lon: 13.4 } };

// The job in two task slots (worker threads), each loading src/job.ts; this part runs once.
const outcomes = await geocodeJob.executeAndCollect({ requests, places }, { jobName: 'geocode requests' });
for (const outcome of outcomes) {
  console.log('placed' in outcome ? `${outcome.address}: ${outcome.placed.lat}, ${outcome.placed.lon}` : `${outcome.address}: not placed (${outcome.unresolved})`);
}
