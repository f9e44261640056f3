package main

import (
	"strings"

	"github.com/spf13/pflag"
)

// envPrefix starts the environment variable of every run flag: --rate is
// SHADOWLOAD_RATE, --metrics-addr SHADOWLOAD_METRICS_ADDR.
const envPrefix = "SHADOWLOAD_"

// envName is the environment variable that sets flag name.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets every flag of fs not given on the command line from its
// SHADOWLOAD_* variable, when set: the command line beats the environment.
// A bad value is a usage error naming the variable.
func applyEnv(fs *flagSet, getenv func(string) string) error {
	if getenv == nil {
		return nil
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || fs.Changed(f.Name) || f.Name == "help" {
			return
		}
		v := getenv(envName(f.Name))
		if v == "" {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = usagef("%s: %s=%q: %v", fs.Name(), envName(f.Name), v, serr)
		}
	})
	return err
}

// envHelp is the paragraph of a command's help that says how the
// environment sets its flags.
const envHelp = `Every flag can also be set by an environment variable: SHADOWLOAD_ and the
flag's name in capitals with "_" for "-" (SHADOWLOAD_RATE=500/s,
SHADOWLOAD_METRICS_ADDR=:9464); a flag on the command line beats the
variable. SHADOWLOAD_SCENARIO names FILE when no argument does.`
