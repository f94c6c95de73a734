//! Reading a figure off the service's `/metrics` page (Prometheus text format), for the
//! benchmarks that report what the service itself counted.

/// The value of counter `name` with label `label="value"`, 0 when absent.
pub fn counter(exposition: &str, name: &str, label: &str, value: &str) -> f64 {
    let series = format!("{name}{{{label}=\"{value}\"}}");
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_labelled_counter_is_read() {
        let page =
            "# HELP x y\ncj_loads_total{source=\"cache\"} 41\ncj_loads_total{source=\"log\"} 3\n";
        assert_eq!(counter(page, "cj_loads_total", "source", "cache"), 41.0);
        assert_eq!(counter(page, "cj_loads_total", "source", "log"), 3.0);
        assert_eq!(counter(page, "cj_loads_total", "source", "other"), 0.0);
    }
}
