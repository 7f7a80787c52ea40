//! `sesame hash calibrate` measures this machine and prints parameters that a config
//! file takes as they are.

use sesame::config::{Overrides, Settings};

use super::ONE_AT_A_TIME;
use super::server::BIN;

fn calibrate(target_ms: &str) -> (String, Settings) {
    let output = std::process::Command::new(BIN)
        .args(["hash", "calibrate", "--target-ms", target_ms])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let overrides: Overrides = toml::from_str(&text).unwrap();
    (text.clone(), Settings::resolve(overrides).unwrap())
}

fn measured_ms(text: &str) -> f64 {
    let (_, rest) = text.split_once("measured ").unwrap();
    rest.split_once(" ms").unwrap().0.parse().unwrap()
}

#[tokio::test]
async fn a_target_below_the_owasp_minimum_gets_the_minimum() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (text, settings) = calibrate("1");
    assert_eq!(settings.hash.memory_kib, 19_456, "{text}");
    assert_eq!(settings.hash.iterations, 2, "{text}");
    assert!(text.contains("OWASP's minimum"), "{text}");
}

#[tokio::test]
async fn a_higher_target_buys_more_memory_and_lands_near_the_target() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (floor, minimum) = calibrate("1");
    let floor_ms = measured_ms(&floor);
    // Two targets, three times apart: the work bought (memory times passes; memory
    // stops at 64 MiB, then passes grow) must follow the target. A calibration that
    // ignored it would land both at one size, which a band around a single target
    // cannot tell from aiming.
    let mut chosen = Vec::new();
    for factor in [2.0, 6.0] {
        let target = (floor_ms * factor).round();
        let (text, settings) = calibrate(&target.to_string());
        assert!(settings.hash.memory_kib > minimum.hash.memory_kib, "{text}");
        assert!(settings.hash.iterations >= 2, "{text}");
        let took = measured_ms(&text);
        // The target comes from one process's measurement and the result from
        // another's, moments apart on a shared machine: CI once saw 1.59x.
        assert!(
            (0.5 * target..=2.0 * target).contains(&took),
            "target {target} ms, measured {took} ms:\n{text}"
        );
        chosen.push(f64::from(settings.hash.memory_kib) * f64::from(settings.hash.iterations));
    }
    let ratio = chosen[1] / chosen[0];
    assert!(
        ratio >= 2.0,
        "three times the target bought {ratio:.2} times the work: {chosen:?}"
    );
}
