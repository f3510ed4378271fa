import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cmd, DockerfileParser, Entrypoint, Env, From, Healthcheck, JSONInstruction, type Instruction } from 'dockerfile-ast';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';

/** The repository root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A problem the linter found, as `file:line: message`. */
export interface LintProblem {
  line: number;
  message: string;
  severity: 'error' | 'warning';
}

/** One FROM: the image it names after ARG substitution, and its stage name. */
export interface Stage {
  image: string;
  name?: string;
}

/** What the final stage of a Dockerfile makes a container start with. */
export interface ImageConfig {
  stages: Stage[];
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  env: Record<string, string>;
  expose: number[];
  /** The HEALTHCHECK's CMD in exec form, if there is one. */
  healthcheck?: string[];
}

/**
 * Every check dockerfile-utils (the validator of the Docker language server that VS Code's
 * Docker extension uses) has, each made an error: unknown instructions and flags, bad
 * durations, malformed JSON forms, repeated CMD/ENTRYPOINT/HEALTHCHECK, relative WORKDIR...
 */
const STRICT: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

export function lintDockerfile(content: string): LintProblem[] {
  // Diagnostic severities are LSP's: 1 error, 2 warning, 3 information, 4 hint.
  return validate(content, STRICT).map((d) => ({ line: d.range.start.line + 1, message: typeof d.message === 'string' ? d.message : d.message.value, severity: d.severity === 1 ? 'error' : 'warning' }));
}

function jsonStrings(instruction: Instruction): string[] | undefined {
  if (!(instruction instanceof JSONInstruction)) return undefined;
  const strings = instruction.getJSONStrings();
  return strings.length > 0 ? strings.map((s) => s.getJSONValue()) : undefined;
}

/** An exec-form command as Docker runs it, or a shell-form one wrapped in `/bin/sh -c`. */
function commandOf(instruction: Instruction, words: string[]): string[] {
  const joined = words.join(' ');
  return jsonStrings(instruction) ?? (joined.startsWith('[') ? (JSON.parse(joined) as string[]) : ['/bin/sh', '-c', joined]);
}

function emptyConfig(): Omit<ImageConfig, 'stages'> {
  return { env: {}, expose: [] };
}

/** Reads a Dockerfile (path relative to the repository root) as Docker would build its final stage. */
export function readImageConfig(file: string): { content: string; config: ImageConfig } {
  const content = readFileSync(path.join(REPO, file), 'utf8');
  return { content, config: parseImageConfig(content, file) };
}

/** What the final stage of a Dockerfile's text makes a container start with (`file` names it in errors). */
export function parseImageConfig(content: string, file: string): ImageConfig {
  const dockerfile = DockerfileParser.parse(content);
  // ARGs before the first FROM may be used in FROM lines; their defaults are what a plain `docker build` uses.
  const args = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (property !== null) args.set(property.getName(), property.getValue() ?? '');
  }
  const substitute = (text: string): string =>
    text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
      const value = args.get((braced ?? bare) as string);
      if (value === undefined) throw new Error(`${file}: ${whole} has no default before the first FROM`);
      return value;
    });
  const stages: (Stage & { config: Omit<ImageConfig, 'stages'> })[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const words = instruction.getArguments().map((a) => a.getValue());
    if (instruction instanceof From) {
      const [image, as, name] = words;
      if (image === undefined) throw new Error(`${file}:${instruction.getRange().start.line + 1}: FROM without an image`);
      // A FROM that names an earlier stage starts from that stage: its base image and its settings.
      const earlier = stages.find((s) => s.name === image);
      const config = earlier === undefined ? emptyConfig() : structuredClone(earlier.config);
      stages.push({ image: earlier?.image ?? substitute(image), name: as?.toUpperCase() === 'AS' ? name : undefined, config });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) continue;
    const config = stage.config;
    if (instruction instanceof Env) {
      for (const property of instruction.getProperties()) config.env[property.getName()] = property.getValue() ?? '';
    } else if (instruction instanceof Entrypoint) {
      config.entrypoint = commandOf(instruction, words);
      // Docker: setting ENTRYPOINT resets a CMD inherited from the base.
      config.cmd = undefined;
    } else if (instruction instanceof Cmd) {
      config.cmd = commandOf(instruction, words);
    } else if (instruction instanceof Healthcheck) {
      const cmd = words.indexOf('CMD');
      config.healthcheck = cmd >= 0 ? commandOf(instruction, words.slice(cmd + 1)) : undefined;
    } else if (instruction.getKeyword() === 'USER') {
      config.user = words[0];
    } else if (instruction.getKeyword() === 'EXPOSE') {
      config.expose.push(...words.map((w) => Number(w.replace(/\/tcp$/, ''))));
    }
  }
  const last = stages.at(-1);
  if (last === undefined) throw new Error(`${file}: no FROM`);
  return { ...last.config, stages: stages.map(({ image, name }) => ({ image, name })) };
}
