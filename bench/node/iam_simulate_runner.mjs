// Times @cloud-copilot/iam-simulate on the engine benchmark's workload (see bench/engine_bench.py).
//
// Usage: node iam_simulate_runner.mjs WORKLOAD.json > RESULT.json
// The workload file holds {principal, account, sizes: {N: [[name, doc], ...]}, requests: [...],
// budget_ms, budgets_ms: {N: ms}, min_requests,
// public_api_requests}. For each size the policies are loaded once
// (loadPolicy: the library's parsed form) and every request goes through the core `authorize`
// with them, which is the reuse a server would do; `runSimulation`, the public entry point that
// validates and loads the policies on every call, is timed too on the first requests at the base size.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { loadPolicy } from '@cloud-copilot/iam-policy';
import { runSimulation } from '@cloud-copilot/iam-simulate';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'node_modules', '@cloud-copilot', 'iam-simulate', 'dist', 'esm');
const deep = async (rel) => import(pathToFileURL(join(dist, rel)).href);
const { authorize } = await deep('core_engine/CoreSimulatorEngine.js');
const { DiscoveryContextKeyConstraints } = await deep('context_keys/discoveryContextKeyConstraints.js');
const { AwsRequestImpl } = await deep('request/request.js');
const { RequestContextImpl } = await deep('requestContext.js');
const version = JSON.parse(readFileSync(join(dist, '..', '..', 'package.json'), 'utf8')).version;

const DECISION = { Allowed: 'Allow', ExplicitlyDenied: 'ExplicitDeny', ImplicitlyDenied: 'ImplicitDeny' };
const work = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const params = {
  simulationMode: 'Strict',
  discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]),
};

function decide(principal, account, policies, req) {
  const request = new AwsRequestImpl(
    principal,
    { resource: req.resource, accountId: account },
    req.action,
    new RequestContextImpl(req.context),
    req.resource === '*',
  );
  const result = authorize({
    request,
    sessionPolicy: undefined,
    identityPolicies: policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: undefined,
    permissionBoundaries: undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: params,
  });
  return DECISION[result.result] ?? result.result;
}

// Decide requests in order until the budget is spent (and at least minRequests), reading the clock
// every 10 requests; a short warm-up first, bounded in time, for the JIT. The clock is the process's
// CPU time (user + system), as on the Python side: the machine is shared.
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

function timeDecisions(fn, requests, budgetMs, minRequests) {
  const warmStart = cpuMs();
  const warmMs = Math.min(budgetMs / 4, 2000);
  for (let i = 0; i < Math.min(200, requests.length); i++) {
    fn(requests[i]);
    if (cpuMs() - warmStart > warmMs) break;
  }
  const decisions = [];
  const checkpoints = [];
  const start = cpuMs();
  for (let i = 0; i < requests.length; i += 10) {
    for (const request of requests.slice(i, i + 10)) decisions.push(fn(request));
    const elapsedMs = cpuMs() - start;
    checkpoints.push(elapsedMs);
    if (elapsedMs > budgetMs && decisions.length >= minRequests) break;
  }
  return { total_ms: checkpoints[checkpoints.length - 1] ?? 0, checkpoints, decisions };
}

const out = { peer: 'iam-simulate', version, sizes: {} };
const base = Math.min(...Object.keys(work.sizes).map(Number));
for (const [size, docs] of Object.entries(work.sizes)) {
  const t0 = cpuMs();
  const policies = docs.map(([name, doc]) => loadPolicy(doc, { name }));
  const compileMs = cpuMs() - t0;
  const budget = work.budgets_ms[size] ?? work.budget_ms;
  const run = timeDecisions((r) => decide(work.principal, work.account, policies, r), work.requests, budget,
    work.min_requests);
  out.sizes[size] = { compile_ms: compileMs, ...run };
}

// The public API, as a user of the package calls it: validation and loading on each call.
const publicN = Math.min(work.public_api_requests, work.requests.length);
const baseDocs = work.sizes[String(base)].map(([name, policy]) => ({ name, policy }));
const publicDecisions = [];
const p0 = cpuMs();
for (const req of work.requests.slice(0, publicN)) {
  const result = await runSimulation({
    request: {
      principal: work.principal,
      action: req.action,
      resource: { resource: req.resource, accountId: work.account },
      contextVariables: req.context,
    },
    identityPolicies: baseDocs,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  }, { simulationMode: 'Strict' });
  publicDecisions.push(result.resultType === 'error'
    ? `error:${result.errors.message}` : DECISION[result.overallResult] ?? result.overallResult);
}
out.public_api = { n: publicN, total_ms: cpuMs() - p0, decisions: publicDecisions };
process.stdout.write(JSON.stringify(out));
