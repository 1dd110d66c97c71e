package commands

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "read and change the daemon's settings in the home's config file",
		Description: `The home's config file ($HSP_HOME/config, one 'key = value' a line, a subset
of TOML) holds the settings every daemon start reads, the automatic start
included; the flags of 'hsp daemon' override them for one start. A change
takes effect at the daemon's next start: against a running daemon, set and
unset say that it needs a restart ('hsp daemon stop').

` + exitStatus(ExitOK, ExitError, ExitUsage),
		Subcommands: []*cli.Command{
			{Name: "get", Usage: "print a setting's value", ArgsUsage: "KEY", Action: configGet},
			{Name: "set", Usage: "set a setting", ArgsUsage: "KEY VALUE", Action: configSet},
			{Name: "unset", Usage: "remove a setting, back to its default", ArgsUsage: "KEY", Action: configUnset},
			{Name: "list", Usage: "list every setting", Action: configList},
		},
	}
}

func loadConfig(c *cli.Context) (*home.Config, home.Paths, error) {
	p, err := pathsOf(c)
	if err != nil {
		return nil, p, err
	}
	cfg, err := home.LoadConfig(p.Config)
	return cfg, p, err
}

func configGet(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("config get needs a KEY")
	}
	s, err := settingOf(c.Args().First())
	if err != nil {
		return err
	}
	cfg, _, err := loadConfig(c)
	if err != nil {
		return err
	}
	v, set := cfg.Get(s.key)
	res := rpc.ConfigEntry{Key: s.key, Value: v, Set: set, About: s.about}
	return outputOf(c).result(res, func(w io.Writer) { fmt.Fprintln(w, v) })
}

func configList(c *cli.Context) error {
	cfg, _, err := loadConfig(c)
	if err != nil {
		return err
	}
	var res rpc.ConfigList
	for _, s := range settings {
		v, set := cfg.Get(s.key)
		res.Settings = append(res.Settings, rpc.ConfigEntry{Key: s.key, Value: v, Set: set, About: s.about})
	}
	out := outputOf(c)
	return out.result(res, func(w io.Writer) {
		for _, e := range res.Settings {
			v := e.Value
			if !e.Set {
				v = "(default)"
			}
			fmt.Fprintf(w, "%-13s %-12s ", e.Key, v)
			out.dim.Fprintln(w, e.About)
		}
	})
}

func configSet(c *cli.Context) error {
	if c.NArg() != 2 {
		return usagef("config set needs a KEY and a VALUE")
	}
	s, err := settingOf(c.Args().Get(0))
	if err != nil {
		return err
	}
	value := c.Args().Get(1)
	if err := s.check(value); err != nil {
		return usagef("%s: %v", s.key, err)
	}
	return changeConfig(c, rpc.ConfigChange{Key: s.key, Value: value}, func(cfg *home.Config) { cfg.Set(s.key, value) })
}

func configUnset(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("config unset needs a KEY")
	}
	s, err := settingOf(c.Args().First())
	if err != nil {
		return err
	}
	return changeConfig(c, rpc.ConfigChange{Key: s.key, Unset: true}, func(cfg *home.Config) { cfg.Unset(s.key) })
}

// changeConfig applies change to the file and tells whether a running
// daemon needs a restart to see it.
func changeConfig(c *cli.Context, res rpc.ConfigChange, change func(*home.Config)) error {
	cfg, p, err := loadConfig(c)
	if err != nil {
		return err
	}
	change(cfg)
	if err := cfg.Save(); err != nil {
		return err
	}
	pid := uint32(0)
	if client, err := dialHome(c, p); err == nil {
		if st, err := client.Status(c.Context); err == nil && st.Settings[res.Key] != res.Value {
			res.RestartNeeded, pid = true, st.Pid
		}
		client.Close()
	} else if !errors.Is(err, rpc.ErrDaemonUnreachable) {
		return err
	}
	if res.RestartNeeded {
		fmt.Fprintf(c.App.ErrWriter, "hsp: the running daemon (pid %d) keeps its %s until it restarts: `hsp daemon stop`, and the next command starts it again\n", pid, res.Key)
	}
	return outputOf(c).result(res, func(io.Writer) {})
}
