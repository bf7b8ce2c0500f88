import type { ResultsFile } from '../harness/model.js';
import type { TemplateValues } from './template.js';

export function summaryValues(_results: ResultsFile): TemplateValues {
  return {};
}
