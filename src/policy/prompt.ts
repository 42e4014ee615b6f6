/**
 * The text half of the prefix: `"Task: {task}, State: {bins};\n"`, where `bins` is the normalized state digitized
 * into 256 bins over [-1, 1), tokenized and laid out as the model was trained (openpi's or LeRobot's layout,
 * REFERENCE §11). Each step is a small function, testable alone.
 */
import { Tokenizer } from "tokenizers";
import { InputError } from "../errors.js";

export type TaskCleaning = "openpi" | "lerobot";
export type PromptLayout = "openpi" | "lerobot";

export interface PromptLayoutSpec {
  layout: PromptLayout;
  bos: number;
  /** Longest prompt, first BOS included (LeRobot's `tokenizer_max_length` truncation); undefined = no limit. */
  maxTokens?: number | undefined;
}

/**
 * The prompt's ids as the prefix holds them: BOS + the text's ids (openpi), or BOS + the text's ids cut to
 * `maxTokens` + BOS (LeRobot, which pads the tokenized prompt and appends BOS after it; the pads are masked and
 * take no position, so leaving them out changes nothing).
 */
export function layoutPromptIds(textIds: readonly number[], spec: PromptLayoutSpec): number[] {
  const ids = [spec.bos, ...textIds];
  if (spec.layout === "openpi") return ids;
  return [...(spec.maxTokens !== undefined ? ids.slice(0, spec.maxTokens) : ids), spec.bos];
}

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

  /** The prompt's ids, without special tokens. */
  async encodeText(text: string): Promise<number[]> {
    const encoding = await this.tokenizer.encode(text, null, { addSpecialTokens: false });
    return encoding.getIds();
  }

  /** BOS + the prompt's ids. */
  async encode(text: string): Promise<number[]> {
    return [this.bosId, ...(await this.encodeText(text))];
  }
}
