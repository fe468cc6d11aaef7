/** The parts of js-yaml the topology loader's fast path uses (topology/fast-yaml.ts), bundled by `npm run build` like yaml. */
export { CORE_SCHEMA, load, mergeTag } from 'js-yaml';
