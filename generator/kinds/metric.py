"""``{{ mlp.dev_nll }}``, ``{{ mlp.dev_nll:.3f }}``: a metric, in prose."""

from __future__ import annotations

from generator import escape
from generator.errors import suggest
from generator.kinds import Kind
from generator.numbers import fmt_number
from generator.refs import METRIC, RefSyntaxError, check_format


class Metric(Kind):
    word = "metric"
    example = "{{ mlp.dev_nll:.3f }}"

    def parse(self, source, args, caption, line):
        from generator.kinds import WORDS

        m = METRIC.match(source)
        if not m or " " in source.split(":", 1)[0]:
            raise RefSyntaxError(line, f"cannot read '{{{{ {source} }}}}': expected a metric such as "
                                       f"{self.example} or one of: {', '.join(WORDS)}")
        fmt = m.group(3).strip() if m.group(3) else None
        check_format(fmt, line)
        return {"exps": (m.group(1),), "names": (m.group(2),), "fmt": (fmt,)}

    def render(self, ref, page):
        exp, name, spec = ref.exps[0], ref.names[0], ref.fmt[0]
        run, res = page.result(ref, exp)
        if res is None:
            return page.missing(exp, False)
        metrics = res.metrics
        if name not in metrics:
            return page.bad(ref, f"{run.function} reported no metric '{name}'"
                                 f"{suggest(name, metrics)} (it has: {', '.join(metrics) or 'none'})")
        try:
            text = fmt_number(metrics[name], spec)
        except ValueError as e:
            return page.bad(ref, f"format '{spec}' does not fit {metrics[name]!r}: {e}")
        return escape.inline(text)
