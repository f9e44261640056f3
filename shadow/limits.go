package shadow

// Defaults of the shadow service limits (reference §5).
const (
	DefaultMaxStateBytes       = 8192
	DefaultMaxDepth            = 6
	DefaultMaxClientTokenBytes = 64
)

// maxParseDepth bounds the recursion of the JSON parser; a configured
// MaxDepth is clamped below it so that hitting it always means "too deep".
const maxParseDepth = 10000

// Limits are the shadow service limits; a zero (or negative) field means the
// AWS default. MaxDepth is capped at 9990, below the parser's own bound.
type Limits struct {
	MaxStateBytes       int // desired+reported as stored, without metadata; default 8192
	MaxDepth            int // nesting depth of desired/reported; default 6 (message names the configured value)
	MaxClientTokenBytes int // default 64
}

// withDefaults returns l with every unset field at its default.
func (l Limits) withDefaults() Limits {
	if l.MaxStateBytes <= 0 {
		l.MaxStateBytes = DefaultMaxStateBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxDepth > maxParseDepth-10 {
		l.MaxDepth = maxParseDepth - 10
	}
	if l.MaxClientTokenBytes <= 0 {
		l.MaxClientTokenBytes = DefaultMaxClientTokenBytes
	}
	return l
}
