/** The parts of yaml the topology loader uses, bundled by `npm run build` like zod (see zod.ts). */
export { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
export type { Document, Pair, YAMLMap } from 'yaml';
