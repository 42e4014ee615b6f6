/**
 * The text half of the prefix, as openpi's FAST tokenizer writes it: `"Task: {task}, State: {bins};\n"`
 * after BOS, where `bins` is the normalized state digitized into 256 bins over [-1, 1). Each step is a
 * small function, testable alone.
 */
import { Tokenizer } from "tokenizers";
import { InputError } from "../errors.js";

export type TaskCleaning = "openpi" | "lerobot";

/** openpi lowercases; both replace `_` and newlines with spaces and trim. */
export function cleanTask(task: string, style: TaskCleaning): string {
  const cleaned = task.trim().replaceAll("_", " ").replaceAll("\n", " ");
  return style === "openpi" ? cleaned.toLowerCase() : cleaned;
}

/** `digitize(x, linspace(-1, 1, bins + 1)[:-1]) - 1`: below -1 → -1, at or above the last edge → bins - 1. */
export function digitizeState(normalizedState: ArrayLike<number>, bins = 256): number[] {
  const result: number[] = [];
  for (let i = 0; i < normalizedState.length; i++) {
    const x = normalizedState[i]!;
    // Edges e_k = -1 + 2k/bins for k = 0..bins-1; digitize counts the edges ≤ x.
    const above = Math.floor(((x + 1) * bins) / 2);
    let count = x < -1 ? 0 : Math.min(bins, above + 1);
    // Guard the floating-point boundary: an edge equal to x counts.
    if (count < bins && x >= -1 + (2 * count) / bins) count++;
    else if (count > 0 && x < -1 + (2 * (count - 1)) / bins) count--;
    result.push(count - 1);
  }
  return result;
}

export function promptText(task: string, stateBins: readonly number[]): string {
  return `Task: ${task}, State: ${stateBins.join(" ")};\n`;
}

/** The text tokenizer of a model (Hugging Face `tokenizer.json`), for the prompt. */
export class PromptTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly bosId: number,
  ) {}

  static load(file: string, bosId: number): PromptTokenizer {
    let tokenizer: Tokenizer;
    try {
      tokenizer = Tokenizer.fromFile(file);
    } catch (error) {
      throw new InputError(`${file}: Hugging Face tokenizers cannot load it (${(error as Error).message}); expected the model's text tokenizer.json`);
    }
    return new PromptTokenizer(tokenizer, bosId);
  }

  /** BOS + the prompt's ids. */
  async encode(text: string): Promise<number[]> {
    const encoding = await this.tokenizer.encode(text, null, { addSpecialTokens: false });
    return [this.bosId, ...encoding.getIds()];
  }
}
