package config

import "flag"

// devFlags: what helps while the app is being written.
func devFlags(fs *flag.FlagSet, cfg *Config) {
	fs.BoolVar(&cfg.Reload, "reload", false, "development: watch the app's Python files (the "+
		"script's folder, --chdir and --python-path, without hidden folders, __pycache__ and "+
		"virtualenvs) and reload when one changes; the old code serves until the new code "+
		"imports, and an import error is logged, not served (implies a supervisor, one worker "+
		"without --processes; every app loads at start, as with --preload)")
}
