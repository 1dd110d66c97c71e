package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// samples are what one run of a job measured: metric → values (one per
// run, or several, like the spawn times).
type samples map[string][]float64

// job measures some metrics on one side. Jobs of a group measure the same
// workload on different sides and run one after another, alternating.
type job struct {
	Group   string
	Side    string
	Metrics []string
	Run     func(ctx context.Context, e *env) (samples, error)
}

// jobs lists every job at the sizes of p, for the builds of l and, when l
// has it, JS. Within a group the order is in-process, the hsp builds (A,
// then B), JS; runRounds reverses it every other round.
func jobs(p params, l lineup) []job {
	// hspJobs is one job per hsp build; run gets the build's binary.
	hspJobs := func(group string, metrics []string, run func(ctx context.Context, e *env, bin string) (samples, error)) []job {
		var js []job
		for _, side := range l.HSP {
			js = append(js, job{group, side, metrics, func(ctx context.Context, e *env) (samples, error) {
				return run(ctx, e, e.bin(side))
			}})
		}
		return js
	}
	jsJob := func(group string, metrics []string, run func(ctx context.Context, e *env) (samples, error)) []job {
		if !l.JS {
			return nil
		}
		return []job{{group, sideJS, metrics, run}}
	}
	appendJobs := func(group, metric string, n, size, batch, clients int, inproc bool) []job {
		var js []job
		if inproc {
			js = append(js, job{group, sideInproc, []string{metric}, func(ctx context.Context, e *env) (samples, error) {
				return inprocAppend(ctx, e, metric, appendSpec{n, size, batch, clients})
			}})
		}
		js = append(js, hspJobs(group, []string{metric}, func(ctx context.Context, e *env, bin string) (samples, error) {
			return hspAppend(ctx, e, bin, metric, appendSpec{n, size, batch, clients})
		})...)
		return append(js, jsJob(group, []string{metric}, func(ctx context.Context, e *env) (samples, error) {
			return jsAppend(ctx, e, metric, appendSpec{n, size, batch, clients})
		})...)
	}
	var all []job
	all = append(all, appendJobs("append-1k-1", mAppend1, p.Append1N, 1024, 1, 1, true)...)
	all = append(all, appendJobs("append-1k-1-x8", mAppend1x8, p.Append8N, 1024, 1, 8, true)...)
	all = append(all, appendJobs("append-1k-100", mAppend100, p.Append100N, 1024, 100, 1, true)...)
	all = append(all, appendJobs("append-64k-100", mAppend64k, p.Append64kN, 64<<10, 100, 1, true)...)
	read := []string{mReadGet, mReadStream}
	startup := []string{mSpawnStatus, mIdleRSS, mCoresRSS}
	all = append(all, hspJobs("read", read, func(ctx context.Context, e *env, bin string) (samples, error) { return hspRead(ctx, e, bin, p) })...)
	all = append(all, jsJob("read", read, func(ctx context.Context, e *env) (samples, error) { return jsRead(ctx, e, p) })...)
	all = append(all, hspJobs("startup", startup, func(ctx context.Context, e *env, bin string) (samples, error) { return hspStartup(ctx, e, bin, p) })...)
	all = append(all, jsJob("startup", startup, func(ctx context.Context, e *env) (samples, error) { return jsStartup(ctx, e, p) })...)
	for _, sh := range replShapes {
		all = append(all, replJobs(p, l, sh)...)
	}
	for _, sh := range dhtShapes {
		all = append(all, dhtJobs(p, l, sh)...)
	}
	return all
}

// selectJobs keeps the jobs that measure at least one of keys.
func selectJobs(all []job, keys []string) []job {
	var out []job
	for _, j := range all {
		for _, m := range j.Metrics {
			if slices.Contains(keys, key(j.Side, m)) {
				out = append(out, j)
				break
			}
		}
	}
	return out
}

// results collects every sample of a run, and the failures.
type results struct {
	Samples map[string][]float64 // measurement key → samples
	Errors  []string
}

// runRounds runs the jobs rounds times. Within a group the sides take
// turns: the order is reversed every other round, so no side always runs
// first, and two hsp builds swap places too (the machine drifts: page cache, other load). A failed job is
// reported and the rest go on.
func runRounds(ctx context.Context, e *env, js []job, rounds int, log io.Writer) *results {
	res := &results{Samples: map[string][]float64{}}
	for r := range rounds {
		for _, group := range groupsOf(js) {
			order := group
			if r%2 == 1 {
				order = slices.Clone(group)
				slices.Reverse(order)
			}
			for _, j := range order {
				if ctx.Err() != nil {
					res.Errors = append(res.Errors, fmt.Sprintf("round %d: %v", r+1, ctx.Err()))
					return res
				}
				runJob(ctx, e, j, r, rounds, res, log)
			}
		}
	}
	return res
}

func runJob(ctx context.Context, e *env, j job, r, rounds int, res *results, log io.Writer) {
	start := time.Now()
	s, err := j.Run(ctx, e)
	took := time.Since(start).Round(10 * time.Millisecond)
	if err != nil {
		msg := fmt.Sprintf("round %d/%d %s %s: %v", r+1, rounds, j.Group, j.Side, err)
		res.Errors = append(res.Errors, msg)
		fmt.Fprintf(log, "%s (after %s)\n", msg, took)
		return
	}
	fmt.Fprintf(log, "round %d/%d %-15s %-6s", r+1, rounds, j.Group, j.Side)
	for _, m := range j.Metrics {
		if len(s[m]) == 0 { // an optional figure this run did not give
			continue
		}
		k := key(j.Side, m)
		res.Samples[k] = append(res.Samples[k], s[m]...)
		fmt.Fprintf(log, "  %s %s", m, formatValues(s[m], units[m]))
	}
	fmt.Fprintf(log, "  (%s)\n", took)
}

// groupsOf splits jobs into their groups, in order of first appearance.
func groupsOf(js []job) [][]job {
	var names []string
	byName := map[string][]job{}
	for _, j := range js {
		if _, ok := byName[j.Group]; !ok {
			names = append(names, j.Group)
		}
		byName[j.Group] = append(byName[j.Group], j)
	}
	out := make([][]job, len(names))
	for i, n := range names {
		out[i] = byName[n]
	}
	return out
}
