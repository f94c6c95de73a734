//! R's default random numbers, so that split halves drawn here are the very splits the
//! published analyses drew: `set.seed(seed)` (R ≥ 3.6, Mersenne-Twister, sample.kind
//! "Rejection") followed by `sample.int(n, k)`.
//!
//! - `set.seed` scrambles the seed with 50 steps of the LCG s ← 69069·s + 1, then takes 625
//!   more LCG outputs: the first is the position word (replaced by 624, "state exhausted"),
//!   the other 624 are the MT19937 state.
//! - `unif_rand` is MT19937 with the standard tempering, scaled by 2⁻³² (2.3283064365386963e-10)
//!   and kept strictly inside (0, 1).
//! - `sample.int(n, k)` without replacement draws an index below the remaining pool size by
//!   rejection on ⌈log₂ m⌉ random bits assembled from 16-bit chunks ⌊u·65536⌋, takes that pool
//!   entry and moves the pool's last entry into its slot.

/// MT19937's state size.
const STATE_WORDS: usize = 624;
/// MT19937's middle word offset.
const SHIFT_WORDS: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;
/// R's LCG for seeding (Knuth's 69069).
const SEED_MULTIPLIER: u32 = 69_069;
/// Scrambling steps `set.seed` applies before filling the state.
const SCRAMBLE_STEPS: usize = 50;
/// 2⁻³²: R's scaling of a 32-bit word into [0, 1).
const TO_UNIT: f64 = 2.328_306_436_538_696_3e-10;

/// R's Mersenne-Twister stream after `set.seed(seed)`.
#[derive(Clone)]
pub struct RRandom {
    state: [u32; STATE_WORDS],
    position: usize,
}

impl RRandom {
    /// The stream after R's `set.seed(seed)`.
    pub fn seeded(seed: i32) -> Self {
        // R keeps the seed as an unsigned 32-bit integer: the bit pattern carries over.
        let mut scrambled = u32::from_ne_bytes(seed.to_ne_bytes());
        for _ in 0..SCRAMBLE_STEPS {
            scrambled = next_lcg(scrambled);
        }
        // The first LCG output fills the position word, which R resets to 624.
        scrambled = next_lcg(scrambled);
        let mut state = [0_u32; STATE_WORDS];
        for word in state.iter_mut() {
            scrambled = next_lcg(scrambled);
            *word = scrambled;
        }
        RRandom {
            state,
            position: STATE_WORDS,
        }
    }

    /// R's `unif_rand()`: uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        let value = f64::from(self.next_word()) * TO_UNIT;
        // R's fixup: never exactly 0 or 1.
        if value <= 0.0 {
            0.5 * TO_UNIT
        } else if 1.0 - value <= 0.0 {
            1.0 - 0.5 * TO_UNIT
        } else {
            value
        }
    }

    /// R's `R_unif_index(n)` with rejection sampling: uniform in 0..n.
    pub fn index_below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let bits = (n as f64).log2().ceil() as u32;
        loop {
            let value = self.random_bits(bits);
            if value < n as u64 {
                return value as usize;
            }
        }
    }

    /// R's `sample.int(n, k)` (without replacement): k distinct values in 1..=n, in draw order.
    pub fn sample_int(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut pool: Vec<usize> = (0..n).collect();
        let mut remaining = n;
        (0..k.min(n))
            .map(|_| {
                let j = self.index_below(remaining);
                let drawn = pool[j] + 1;
                remaining -= 1;
                pool[j] = pool[remaining];
                drawn
            })
            .collect()
    }

    /// R's `rbits`: 16-bit chunks while the chunk offset is ≤ `bits`, masked to `bits` bits.
    fn random_bits(&mut self, bits: u32) -> u64 {
        let mut value: u64 = 0;
        let mut offset = 0;
        while offset <= bits {
            let chunk = (self.uniform() * 65_536.0).floor() as u64;
            value = value.wrapping_mul(65_536).wrapping_add(chunk);
            offset += 16;
        }
        value & ((1_u64 << bits) - 1)
    }

    /// MT19937's next tempered word.
    fn next_word(&mut self) -> u32 {
        if self.position >= STATE_WORDS {
            self.regenerate();
        }
        let mut y = self.state[self.position];
        self.position += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn regenerate(&mut self) {
        for k in 0..STATE_WORDS {
            let y = (self.state[k] & UPPER_MASK) | (self.state[(k + 1) % STATE_WORDS] & LOWER_MASK);
            let magic = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.state[k] = self.state[(k + SHIFT_WORDS) % STATE_WORDS] ^ (y >> 1) ^ magic;
        }
        self.position = 0;
    }
}

fn next_lcg(seed: u32) -> u32 {
    seed.wrapping_mul(SEED_MULTIPLIER).wrapping_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_seed_42_then_sample_int_10_3_is_what_r_prints() {
        let mut random = RRandom::seeded(42);
        assert_eq!(random.sample_int(10, 3), vec![1, 5, 10]);
    }

    #[test]
    fn set_seed_123_then_sample_int_100_5_is_what_r_prints() {
        let mut random = RRandom::seeded(123);
        assert_eq!(random.sample_int(100, 5), vec![31, 79, 51, 14, 67]);
    }

    #[test]
    fn a_sample_without_replacement_is_a_set_of_distinct_values_in_range() {
        let mut random = RRandom::seeded(7);
        let mut drawn = random.sample_int(50, 50);
        drawn.sort_unstable();
        assert_eq!(drawn, (1..=50).collect::<Vec<_>>());
    }

    #[test]
    fn uniforms_stay_strictly_inside_the_unit_interval() {
        let mut random = RRandom::seeded(-1);
        assert!((0..5_000)
            .map(|_| random.uniform())
            .all(|u| u > 0.0 && u < 1.0));
    }
}
