/**
 * Synthesizes the Strata stack for the infra tests: once per test file (beforeAll), as
 * `cdk synth` would, with or without bundling the functions (bundling takes a few
 * seconds; the property variants skip it through CDK's bundling-stacks context).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { StrataStack, type StrataStackProps } from '../../infra/strata-stack.js';

export interface Synthesized {
  app: App;
  stack: StrataStack;
  template: Template;
  /** The cloud assembly directory (bundles are under `asset.*`). */
  outdir: string;
}

const outdirs: string[] = [];

/** Removes every cloud assembly this test file synthesized (call it in afterAll). */
export function removeSynthesized(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function synthStrata(props: StrataStackProps = {}, options: { bundle?: boolean } = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'strata-cdk-'));
  outdirs.push(outdir);
  const app = new App({
    outdir,
    // `[]` skips asset bundling (a placeholder asset); '**' bundles every stack.
    context: { 'aws:cdk:bundling-stacks': options.bundle ? ['**'] : [] },
  });
  const stack = new StrataStack(app, 'Strata', props);
  app.synth();
  return { app, stack, template: Template.fromStack(stack), outdir };
}

export interface NagFinding {
  rule: string;
  /** The construct path of the resource, e.g. `Strata/Log/AppendRole/DefaultPolicy/Resource`. */
  path: string;
  description: string;
}

/** cdk-nag AwsSolutions and Serverless findings that no acknowledgement covers (infra/app.ts runs both). */
export function unacknowledgedFindings(scope: IConstruct): NagFinding[] {
  const violations = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) => pack.validateScope(scope).violations);
  return violations.flatMap((v) =>
    v.violatingResources.map((r) => ({
      rule: v.ruleName,
      path: r.constructPath ?? r.resourceLogicalId ?? '?',
      description: v.description,
    })),
  );
}

/** Every acknowledgement recorded in the tree: rule id, reason, and the construct path. */
export function acknowledgements(scope: IConstruct): { rule: string; reason: string; path: string }[] {
  return scope.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([rule, reason]) => ({ rule, reason, path: c.node.path }))),
    );
}
