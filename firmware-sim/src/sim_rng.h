/* SPDX-License-Identifier: MIT */
/*
 * Deterministic pseudo-random numbers for the simulator (xoshiro256**,
 * seeded through splitmix64): the same seed gives the same fleet, the same
 * payloads and the same invalid messages. Not for cryptography.
 * Design notes: docs/sim.md.
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <math.h>
#include <stdint.h>

/* Generator state; any value set by sim_rng_seed is valid. */
typedef struct sim_rng {
    uint64_t s[4]; /* xoshiro256** state, never all zero */
} sim_rng;

static inline uint64_t sim_rng__splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seeds r from seed (any value, 0 included). */
static inline void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = sim_rng__splitmix(&x);
}

static inline uint64_t sim_rng__rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Next 64 random bits. */
static inline uint64_t sim_rng_next(sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = sim_rng__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sim_rng__rotl(s[3], 45);
    return result;
}

/* Uniform double in [0, 1). */
static inline double sim_rng_double(sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n); 0 when n is 0. */
static inline uint64_t sim_rng_below(sim_rng *r, uint64_t n)
{
    return n ? sim_rng_next(r) % n : 0;
}

/* Uniform integer in [lo, hi] (lo <= hi). */
static inline int64_t sim_rng_range(sim_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    if (span == 0)
        return (int64_t)sim_rng_next(r);
    return (int64_t)((uint64_t)lo + sim_rng_below(r, span));
}

/* Standard normal deviate (Box-Muller). */
static inline double sim_rng_normal(sim_rng *r)
{
    double u1 = sim_rng_double(r), u2 = sim_rng_double(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Non-zero with probability p. */
static inline int sim_rng_chance(sim_rng *r, double p)
{
    return sim_rng_double(r) < p;
}

#endif
