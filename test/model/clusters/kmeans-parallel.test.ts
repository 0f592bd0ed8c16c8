import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kMeans } from '../../../src/model/clusters/kmeans.js';
import { kMeansParallel } from '../../../src/model/clusters/kmeans-parallel.js';
import { createRng } from '../../../src/shared/seeded-random.js';

/** Three loose groups in 3-D with noise, so restarts end in different local optima. */
function points(n: number) {
  const rng = createRng(11, 0);
  const data = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const g = i % 3;
    for (let j = 0; j < 3; j++) data[i * 3 + j] = (g === j ? 2 : 0) + rng.normal();
  }
  return { data, n, d: 3 };
}

describe('k-means on worker threads', () => {
  // parallelFrom: 0 shares the passes among threads whatever the size (a failing worker fails the call); the chunk
  // sizes make 12 to 24 chunks per pass, so every thread has chunks to claim.
  const teams = [
    {
      name: 'a lead worker and a helper',
      threads: 2,
      callingThread: false,
      k: 5,
      restarts: 3,
      chunkSize: 250,
    },
    {
      name: 'the calling thread and a worker',
      threads: 2,
      callingThread: true,
      k: 5,
      restarts: 3,
      chunkSize: 250,
    },
    {
      name: 'three threads on two cores (more helpers than needed)',
      threads: 3,
      callingThread: true,
      k: 4,
      restarts: 2,
      chunkSize: 500,
    },
  ];
  for (const t of teams) {
    it(`gives exactly the single-thread result: same centroids, assignment, inertia and iterations (${t.name})`, async () => {
      const p = points(6_000);
      const fit = { points: p, k: t.k, restarts: t.restarts, chunkSize: t.chunkSize };
      const single = kMeans({ ...fit, rng: createRng(3, 0) });
      const threaded = await kMeansParallel({
        ...fit,
        rng: createRng(3, 0),
        threads: t.threads,
        parallelFrom: 0,
        callingThread: t.callingThread,
      });
      assert.equal(threaded.inertia, single.inertia);
      assert.equal(threaded.iterations, single.iterations);
      assert.deepEqual([...threaded.centroids], [...single.centroids]);
      assert.deepEqual([...threaded.assignment], [...single.assignment]);
    });
  }

  it('reports a bad k after its helpers have started, and stops them (the call settles, the process can exit)', async () => {
    const p = points(3_000);
    await assert.rejects(
      kMeansParallel({
        points: p,
        k: 3_001,
        rng: createRng(1, 0),
        chunkSize: 250,
        threads: 2,
        parallelFrom: 0,
      }),
      /k = 3001 with 3000 points/,
    );
  });
});
