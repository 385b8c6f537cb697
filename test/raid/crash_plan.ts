/** The writes of the crash test: disjoint, unaligned regions, so each acknowledged one must read back whole. */
export function crashWrite(i: number, size: number): { at: number; len: number; seed: number } {
  const slot = 90 * 1024;
  const slots = Math.floor(size / slot);
  const k = (i * 7) % slots; // visits every slot once per round (7 and slots coprime when slots is not a multiple of 7)
  return { at: k * slot + ((i * 37) % 509), len: slot - 600 - ((i * 13) % 800), seed: 1000 + i };
}
