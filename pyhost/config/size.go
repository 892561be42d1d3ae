package config

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a size flag: a number of bytes, or with a binary suffix (K, M, G; KiB, MiB,
// GiB and KB, MB, GB mean the same here, as in nginx).
type byteSize struct{ n *int64 }

func (b byteSize) String() string {
	if b.n == nil {
		return "0"
	}
	return formatSize(*b.n)
}

func (b byteSize) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*b.n = n
	return nil
}

// intSize adapts byteSize to an int field.
type intSize struct{ n *int }

func (b intSize) String() string {
	if b.n == nil {
		return "0"
	}
	return formatSize(int64(*b.n))
}

func (b intSize) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	if n > 1<<31-1 {
		return fmt.Errorf("%s is too large for this limit", v)
	}
	*b.n = int(n)
	return nil
}

var _ flag.Value = byteSize{}

func parseSize(v string) (int64, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "IB"), "B")
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q: want a size in bytes, e.g. 8190, 64K, 100M or 1G", v)
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
