//! The PI servo on simulated clocks: it locks the clock the clock-discipline issue names
//! (1 ns resolution, 10 ppm off, white phase noise, random-walk frequency noise) to ≤ 10 ns
//! rms, and no sequence of samples makes it panic or leave its frequency limit.

use meridian_proto::servo::sim::{run, SimClock, SimParams};
use meridian_proto::servo::{LinregConfig, LinregServo, PiConfig, PiServo, Servo, ServoState};
use proptest::prelude::*;

/// 1 ms away and 10 ppm fast, 5 ns rms measurement noise, 0.1 ppb/√s frequency walk, one
/// sample a second: locked-stable within a minute, then ≤ 10 ns rms over ten minutes, for
/// every one of ten seeds.
#[test]
fn pi_locks_a_10_ppm_clock_to_10_ns_rms() {
    for seed in 1..=10 {
        let p = SimParams {
            seed,
            ..SimParams::default()
        };
        let mut clock = SimClock::new(p);
        let mut servo = PiServo::new(PiConfig::hardware(1.0), 0.0);
        let r = run(&mut servo, &mut clock, 1.0, 660.0);
        let stable = r.stable_after_s.expect("locked-stable");
        assert!(stable <= 60.0, "seed {seed}: stable after {stable} s");
        assert!(r.rms_ns <= 10.0, "seed {seed}: {r:?}");
        assert!(r.samples >= 600, "{r:?}");
        assert_eq!(servo.counters().steps, 1, "one first step of ~1 ms");
    }
}

/// The linear-regression servo locks the same clocks as well.
#[test]
fn linreg_locks_a_10_ppm_clock_to_10_ns_rms() {
    for seed in 1..=10 {
        let p = SimParams {
            seed,
            ..SimParams::default()
        };
        let mut clock = SimClock::new(p);
        let mut servo = LinregServo::new(LinregConfig::hardware(), 0.0);
        let r = run(&mut servo, &mut clock, 1.0, 660.0);
        let stable = r.stable_after_s.expect("locked-stable");
        assert!(stable <= 120.0, "seed {seed}: stable after {stable} s");
        assert!(r.rms_ns <= 10.0, "seed {seed}: {r:?}");
        assert_eq!(servo.counters().steps, 1);
    }
}

/// Faster sampling (8 a second) averages the noise down further.
#[test]
fn faster_sampling_tightens_the_lock() {
    let p = SimParams {
        measurement_noise_ns: 20.0,
        ..SimParams::default()
    };
    let rms = |interval: f64| {
        let mut c = SimClock::new(p);
        let mut s = PiServo::new(PiConfig::hardware(interval), 0.0);
        run(&mut s, &mut c, interval, 300.0).rms_ns
    };
    let (slow, fast) = (rms(1.0), rms(0.125));
    assert!(fast < slow, "8/s {fast} ns vs 1/s {slow} ns");
}

/// Without noise the clock converges to its reference and the frequency to the oscillator's
/// error, exactly enough to tell a sign mistake.
#[test]
fn noiseless_convergence() {
    let p = SimParams {
        initial_offset_ns: 5_000.0,
        frequency_error_ppb: -3_000.0,
        frequency_walk_ppb: 0.0,
        measurement_noise_ns: 0.0,
        resolution_ns: 1.0,
        seed: 3,
    };
    let mut c = SimClock::new(p);
    let mut s = PiServo::new(PiConfig::hardware(1.0), 0.0);
    let r = run(&mut s, &mut c, 1.0, 120.0);
    assert_eq!(
        s.counters().steps,
        0,
        "5 µs is below the first-step threshold"
    );
    assert!(r.max_abs_ns <= 2.0, "{r:?}");
    assert!(
        (s.frequency_ppb() - 3_000.0).abs() < 1.0,
        "{}",
        s.frequency_ppb()
    );
    assert_eq!(s.state(), ServoState::LockedStable);
}

proptest! {
    /// Any offsets at any times: no panic, every frequency within the limit and finite,
    /// every step the negated offset, the state never locked-stable without the samples.
    #[test]
    fn any_samples_stay_in_bounds(
        samples in prop::collection::vec((any::<i64>(), 0u64..4_000_000_000), 1..200),
        start in -1e6f64..1e6,
    ) {
        let cfg = PiConfig {
            step_threshold_ns: 1_000_000,
            ..PiConfig::hardware(1.0)
        };
        let mut s = PiServo::new(cfg, start);
        let mut t = 1_000_000_000u64;
        let mut locked_run = 0u32;
        for (offset, dt) in samples {
            t = t.wrapping_add(dt);
            let out = s.sample(offset, t);
            if let Some(f) = out.frequency_ppb {
                prop_assert!(f.is_finite() && f.abs() <= cfg.max_frequency_ppb, "{f}");
            }
            if let Some(step) = out.step_ns {
                prop_assert_eq!(step, offset.saturating_neg());
            }
            locked_run = if out.state.is_locked() { locked_run + 1 } else { 0 };
            if out.state == ServoState::LockedStable {
                prop_assert!(locked_run >= 1);
            }
            prop_assert!(s.frequency_ppb().abs() <= cfg.max_frequency_ppb);
        }
    }

    /// The linear-regression servo under the same abuse.
    #[test]
    fn linreg_any_samples_stay_in_bounds(
        samples in prop::collection::vec((any::<i64>(), 0u64..4_000_000_000), 1..200),
    ) {
        let cfg = LinregConfig {
            step_threshold_ns: 1_000_000,
            ..LinregConfig::hardware()
        };
        let mut s = LinregServo::new(cfg, 0.0);
        let mut t = 1_000_000_000u64;
        for (offset, dt) in samples {
            t = t.wrapping_add(dt);
            let out = Servo::sample(&mut s, offset, t);
            if let Some(f) = out.frequency_ppb {
                prop_assert!(f.is_finite() && f.abs() <= cfg.max_frequency_ppb, "{f}");
            }
            if let Some(step) = out.step_ns {
                prop_assert_eq!(step, offset.saturating_neg());
            }
        }
    }

    /// The same samples give the same answers.
    #[test]
    fn deterministic(samples in prop::collection::vec(-1_000_000i64..1_000_000, 2..50)) {
        let go = || {
            let mut s = PiServo::new(PiConfig::hardware(0.5), 0.0);
            samples
                .iter()
                .enumerate()
                .map(|(k, &o)| s.sample(o, 1_000_000_000 + k as u64 * 500_000_000))
                .collect::<Vec<_>>()
        };
        prop_assert_eq!(go(), go());
    }
}

/// A jump of the clock (5 ms) after lock, with a 1 ms step threshold: both servos step it
/// back and are locked-stable again within a minute, without a second first-step.
#[test]
fn a_later_jump_is_stepped_back_and_relocked() {
    fn go(servo: &mut impl Servo, name: &str) {
        let mut clock = SimClock::new(SimParams::default());
        for s in 0..300u32 {
            if s == 120 {
                clock.step(5_000_000);
            }
            let out = servo.sample(clock.measure(), clock.local_ns());
            if let Some(st) = out.step_ns {
                clock.step(st);
            }
            if let Some(f) = out.frequency_ppb {
                clock.set_frequency(f);
            }
            if s == 119 || s == 299 {
                assert_eq!(out.state, ServoState::LockedStable, "{name} at {s} s");
                assert!(clock.true_offset_ns().abs() < 50.0, "{name} at {s} s");
            }
            clock.advance(1.0);
        }
        assert_eq!(
            servo.counters().steps,
            2,
            "{name}: the first step and the jump"
        );
    }
    go(
        &mut PiServo::new(
            PiConfig {
                step_threshold_ns: 1_000_000,
                ..PiConfig::hardware(1.0)
            },
            0.0,
        ),
        "PI",
    );
    go(
        &mut LinregServo::new(
            LinregConfig {
                step_threshold_ns: 1_000_000,
                ..LinregConfig::hardware()
            },
            0.0,
        ),
        "linreg",
    );
}

/// A noisy reference (300 µs rms, as NMEA sentences arrive) with a clock 2 ppm off: linuxptp's
/// hardware PI, estimating the frequency from its first two samples and correcting with kp
/// 0.7, swings the frequency by hundreds of ppm; the narrow PI (kp 0.005, ki 6e-6, no
/// initial estimate) stays within 10 ppm of the truth after settling (1.5 ppm rms: kp × the
/// noise), and still finds it.
#[test]
fn a_noisy_reference_wants_a_narrow_loop() {
    let swing = |cfg: PiConfig| {
        let mut worst: f64 = 0.0;
        let mut last = 0.0;
        for seed in 1..=5 {
            let mut clock = SimClock::new(SimParams {
                initial_offset_ns: 0.0,
                frequency_error_ppb: 2_000.0,
                frequency_walk_ppb: 0.0,
                measurement_noise_ns: 300_000.0,
                resolution_ns: 1.0,
                seed,
            });
            let mut s = PiServo::new(cfg, 0.0);
            for k in 0..1_500 {
                let out = s.sample(clock.measure(), clock.local_ns());
                if let Some(st) = out.step_ns {
                    clock.step(st);
                }
                if let Some(f) = out.frequency_ppb {
                    clock.set_frequency(f);
                    if k > 300 {
                        worst = worst.max((f + 2_000.0).abs());
                    }
                    last = f;
                }
                clock.advance(1.0);
            }
        }
        (worst, last)
    };
    let (wide, _) = swing(PiConfig::hardware(1.0));
    let (narrow, last) = swing(PiConfig {
        kp_scale: 0.005,
        ki_scale: 0.000_006,
        initial_frequency_estimate: false,
        ..PiConfig::hardware(1.0)
    });
    println!("frequency error after settling: wide {wide:.0} ppb, narrow {narrow:.0} ppb");
    assert!(wide > 100_000.0, "{wide}");
    assert!(narrow < 10_000.0, "{narrow}");
    assert!(
        (last + 2_000.0).abs() < 2_000.0,
        "found the frequency: {last}"
    );
}
