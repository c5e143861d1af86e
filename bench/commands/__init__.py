"""The subcommands of the `gradscale` command line, one module each."""
