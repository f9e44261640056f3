package runner

import "errors"

// The outcomes of a run that are not a pass. Every error Run returns
// matches exactly one of them with errors.Is; they, not the messages,
// decide exit codes.
var (
	// ErrSetup means the run could not start and the user must fix
	// something first: the output path, the bundles, the trust roots, the
	// embedded emulator's start.
	ErrSetup = errors.New("setup failed")
	// ErrInvalid means the run happened and cannot be trusted: the target
	// was unreachable or stopped answering, the generator fell behind, the
	// books do not close, it was interrupted, or its report could not be
	// written. Thresholds do not judge it.
	ErrInvalid = errors.New("invalid run")
	// ErrThresholds means a valid run failed a threshold, or an abortOnFail
	// threshold stopped it.
	ErrThresholds = errors.New("thresholds failed")
)

// kindError is an error of one outcome: its message is the cause's, and it
// matches both the outcome's sentinel and the cause.
type kindError struct {
	kind, err error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// setupError marks err as ErrSetup.
func setupError(err error) error { return &kindError{ErrSetup, err} }

// invalidError marks err as ErrInvalid.
func invalidError(err error) error { return &kindError{ErrInvalid, err} }
