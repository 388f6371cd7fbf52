package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// NewHandler wraps h so that every log record has the registered secrets redacted (see
// String) from its message and from every attribute that carries text: strings, errors, and
// values that print as text. The driver wraps its logger with it; sinks log through that
// logger.
func NewHandler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ h slog.Handler }

func (x handler) Enabled(ctx context.Context, l slog.Level) bool { return x.h.Enabled(ctx, l) }

func (x handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return x.h.Handle(ctx, out)
}

func (x handler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return handler{x.h.WithAttrs(red)}
}

func (x handler) WithGroup(name string) slog.Handler { return handler{x.h.WithGroup(name)} }

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, x := range g {
			red[i] = redactAttr(x)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		var s string
		switch x := v.Any().(type) {
		case error:
			s = x.Error()
		case []byte: // text handlers print bytes as a string, JSON as base64: both covered
			s = string(x)
		default:
			s = fmt.Sprint(x)
		}
		if r := String(s); r != s {
			return slog.String(a.Key, r)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
