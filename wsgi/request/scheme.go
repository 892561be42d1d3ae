package request

import "context"

// schemeKey is the context key of the scheme a trusted proxy reports.
type schemeKey struct{}

// WithScheme marks ctx with the scheme ("http" or "https") that the client used to reach a
// trusted proxy in front of pyhost (--trusted-proxy): wsgi.url_scheme, HTTPS and the default
// SERVER_PORT then follow it instead of the connection's own.
func WithScheme(ctx context.Context, scheme string) context.Context {
	return context.WithValue(ctx, schemeKey{}, scheme)
}

// Scheme is the scheme WithScheme marked ctx with, or "".
func Scheme(ctx context.Context) string {
	s, _ := ctx.Value(schemeKey{}).(string)
	return s
}
