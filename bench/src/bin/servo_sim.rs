//! The PI and linear-regression servos side by side on simulated clocks: rms of the true
//! offset (not the noisy measurements) over 600 s after locked-stable, and the time to
//! locked-stable, over measurement noise × frequency walk × sample rate; five seeds each,
//! the same seeds for both servos. Deterministic: the same table every run.
//!
//! `cargo run --release -p meridian-bench --bin servo_sim`

use meridian_proto::servo::sim::{run, SimClock, SimParams, SimResult};
use meridian_proto::servo::{LinregConfig, LinregServo, PiConfig, PiServo};

const SEEDS: u64 = 5;

fn main() {
    println!(
        "10 ppm initial error, 1 ms initial offset (stepped), 1 ns resolution; rms of the true \
         offset over 600 s after locked-stable; {SEEDS} seeds: median [min–max]"
    );
    println!();
    println!(
        "| noise ns rms | walk ppb/√s | samples/s | PI rms ns | linreg rms ns | PI stable after s | linreg stable after s |"
    );
    println!("|---:|---:|---:|---|---|---|---|");
    let mut wins = (0, 0);
    for noise in [0.0f64, 1.0, 5.0, 20.0, 100.0] {
        for walk in [0.01f64, 0.1, 1.0] {
            for rate in [1.0f64, 8.0] {
                let interval = 1.0 / rate;
                // The lock threshold has to sit above the noise, or "stable" never comes.
                let lock = (4.0 * noise).max(100.0) as u64;
                let (mut pi, mut lr) = (Vec::new(), Vec::new());
                for seed in 1..=SEEDS {
                    let p = SimParams {
                        measurement_noise_ns: noise,
                        frequency_walk_ppb: walk,
                        seed,
                        ..SimParams::default()
                    };
                    let mut cfg = PiConfig::hardware(interval);
                    cfg.lock_threshold_ns = lock;
                    pi.push(measure(&mut PiServo::new(cfg, 0.0), p, interval));
                    let mut cfg = LinregConfig::hardware();
                    cfg.lock_threshold_ns = lock;
                    lr.push(measure(&mut LinregServo::new(cfg, 0.0), p, interval));
                }
                let rms = |v: &[SimResult]| v.iter().map(|r| r.rms_ns).collect::<Vec<_>>();
                let stable = |v: &[SimResult]| {
                    v.iter()
                        .map(|r| r.stable_after_s.unwrap_or(f64::INFINITY))
                        .collect::<Vec<_>>()
                };
                let (pr, lrr) = (median(&rms(&pi)), median(&rms(&lr)));
                if lrr < pr {
                    wins.1 += 1;
                } else {
                    wins.0 += 1;
                }
                println!(
                    "| {noise} | {walk} | {rate} | {} | {} | {} | {} |",
                    spread(&rms(&pi), 1),
                    spread(&rms(&lr), 1),
                    spread(&stable(&pi), 0),
                    spread(&stable(&lr), 0)
                );
            }
        }
    }
    println!();
    println!(
        "lower median rms: PI in {} settings, linreg in {} settings",
        wins.0, wins.1
    );
}

fn measure(
    servo: &mut impl meridian_proto::servo::Servo,
    p: SimParams,
    interval: f64,
) -> SimResult {
    let mut clock = SimClock::new(p);
    run(servo, &mut clock, interval, 660.0)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// "median [min–max]".
fn spread(v: &[f64], digits: usize) -> String {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    format!(
        "{:.d$} [{:.d$}–{:.d$}]",
        v[v.len() / 2],
        v[0],
        v[v.len() - 1],
        d = digits
    )
}
