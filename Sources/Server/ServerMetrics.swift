import Prometheus

/// What `GET /metrics` shows, in Prometheus' text format (swift-prometheus writes it): requests
/// by endpoint and status, tokens in and out, the time spent on each, the rates they give,
/// and the slots' and queue's state when scraped. The names follow llama-server's
/// `llamacpp:*` metrics, with the `xnor_` prefix.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let promptTokens: Counter
    private let generatedTokens: Counter
    private let promptSeconds: Counter
    private let generationSeconds: Counter
    private let promptRate: Gauge
    private let generationRate: Gauge
    private let busySlots: Gauge
    private let queued: Gauge
    private let slots: Gauge
    private let duration: DurationHistogram
    private let totals = Totals()

    init(slotCount: Int) {
        promptTokens = registry.makeCounter(name: "xnor_prompt_tokens_total", help: "Prompt tokens processed.")
        generatedTokens = registry.makeCounter(name: "xnor_generated_tokens_total", help: "Tokens generated.")
        promptSeconds = registry.makeCounter(name: "xnor_prompt_seconds_total", help: "Seconds spent on prompts.")
        generationSeconds = registry.makeCounter(name: "xnor_generation_seconds_total", help: "Seconds spent generating tokens.")
        promptRate = registry.makeGauge(name: "xnor_prompt_tokens_per_second", help: "Prompt tokens per second over all requests.")
        generationRate = registry.makeGauge(name: "xnor_generated_tokens_per_second", help: "Generated tokens per second of decoding over all requests.")
        busySlots = registry.makeGauge(name: "xnor_slots_busy", help: "Slots decoding a request.")
        queued = registry.makeGauge(name: "xnor_requests_queued", help: "Requests waiting for a slot.")
        slots = registry.makeGauge(name: "xnor_slots", help: "Slots (--parallel).")
        duration = registry.makeDurationHistogram(
            name: "xnor_request_duration_seconds",
            buckets: [.milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30), .seconds(120)],
            help: "Time from a request's arrival to the end of its response.")
        slots.set(Int64(slotCount))
    }

    /// One answered request; `endpoint` is the route (a fixed set, so the label stays small).
    func request(endpoint: String, status: Int, duration elapsed: Duration) {
        registry.makeCounter(name: "xnor_http_requests_total", labels: [("endpoint", endpoint), ("status", String(status))],
                             help: "HTTP requests by endpoint and status.").increment()
        duration.record(elapsed)
    }

    /// One generation's tokens and times; the decode rate counts the one-token runs, which
    /// `generationSeconds` times (the first token comes from the prompt's run).
    func generation(promptTokens prompt: Int, promptSeconds: Double, generatedTokens generated: Int, decodeRuns: Int, generationSeconds: Double) {
        promptTokens.increment(by: Int64(prompt))
        generatedTokens.increment(by: Int64(generated))
        self.promptSeconds.increment(by: promptSeconds)
        self.generationSeconds.increment(by: generationSeconds)
        let rates = totals.add(prompt: prompt, promptSeconds: promptSeconds, generated: decodeRuns, generationSeconds: generationSeconds)
        promptRate.set(rates.prompt)
        generationRate.set(rates.generation)
    }

    /// The text of /metrics, with the slots and queue as they are now.
    func exposition(busy: Int, queued waiting: Int) -> [UInt8] {
        busySlots.set(Int64(busy))
        queued.set(Int64(waiting))
        return registry.emitToBuffer()
    }
}

import Synchronization

/// The running sums the rate gauges divide.
private final class Totals: Sendable {
    private struct Sums {
        var prompt = 0, generated = 0
        var promptSeconds = 0.0, generationSeconds = 0.0
    }
    private let sums = Mutex(Sums())

    func add(prompt: Int, promptSeconds: Double, generated: Int, generationSeconds: Double) -> (prompt: Double, generation: Double) {
        sums.withLock { s in
            s.prompt += prompt
            s.generated += generated
            s.promptSeconds += promptSeconds
            s.generationSeconds += generationSeconds
            return (s.promptSeconds > 0 ? Double(s.prompt) / s.promptSeconds : 0,
                    s.generationSeconds > 0 ? Double(s.generated) / s.generationSeconds : 0)
        }
    }
}
