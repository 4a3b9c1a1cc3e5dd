# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_qwenctl_global_optspecs
    string join \n env-file= database= v/verbose q/quiet h/help V/version
end

function __fish_qwenctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_qwenctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_qwenctl_using_subcommand
    set -l cmd (__fish_qwenctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c qwenctl -n "__fish_qwenctl_needs_command" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_needs_command" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_needs_command" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -f -a "serve" -d 'Run the HTTP proxy (OpenAI chat completions and Responses, Anthropic Messages)'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -f -a "chat" -d 'Chat in the terminal: a REPL, or one-shot with a prompt or piped stdin'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -f -a "models" -d 'List the models the upstream offers'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -f -a "validate-config" -d 'Check the configuration (exit 0 when valid, 2 otherwise)'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -f -a "sessions" -d 'Conversations recorded in the store'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -f -a "stats" -d 'Usage and performance figures from the store'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -f -a "accounts" -d 'Upstream accounts: add, list, remove, log in, test'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -f -a "db" -d 'Maintain the database: backup, vacuum, prune'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -f -a "generate-assets" -d 'Write the man pages and completion scripts into a directory (for packaging)'
complete -c qwenctl -n "__fish_qwenctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand serve" -l host -d 'Bind address (overrides HOST)' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand serve" -l port -d 'Port (overrides PORT; 0 picks a free one)' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand serve" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand serve" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand serve" -l fake-upstream -d 'Run the built-in fake of chat.qwen.ai in-process instead of the real service (no credentials needed)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand serve" -l allow-unauthenticated -d 'Allow binding a non-loopback address without API_KEYS'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand serve" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand serve" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand serve" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand serve" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -s f -l file -d 'Add the contents of a file to the prompt, in a fenced block headed by its name (repeatable)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -s m -l model -d 'Model to use; a `-thinking` variant turns thinking on [default: qwen3-max, or the resumed session\'s model]' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -s s -l system -d 'System prompt' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -l resume -d 'Continue the session with this id' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -l think -d 'Turn thinking on: the reasoning is shown dimmed (one-shot: on stderr, never on stdout)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -l no-stream -d 'Print the answer at once instead of streaming it'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -l json -d 'Print the final chat.completion object as JSON'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -s c -l continue -d 'Continue the latest session'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -l fake-upstream -d 'Chat with the built-in fake of chat.qwen.ai, in-process, instead of the real service (no credentials needed; it answers "You said: …")'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand chat" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand models" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand models" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand models" -l json -d 'Print JSON instead of a table'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand models" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand models" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand models" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand models" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand validate-config" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand validate-config" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand validate-config" -l online -d 'Also prove the credentials against the upstream (auth check + model list)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand validate-config" -l json -d 'Print the report as JSON'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand validate-config" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand validate-config" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand validate-config" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand validate-config" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and not __fish_seen_subcommand_from list search show export delete help" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and not __fish_seen_subcommand_from list search show export delete help" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and not __fish_seen_subcommand_from list search show export delete help" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and not __fish_seen_subcommand_from list search show export delete help" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and not __fish_seen_subcommand_from list search show export delete help" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and not __fish_seen_subcommand_from list search show export delete help" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and not __fish_seen_subcommand_from list search show export delete help" -f -a "list" -d 'List sessions, newest first'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and not __fish_seen_subcommand_from list search show export delete help" -f -a "search" -d 'Find sessions by the words in their messages and answers, newest first'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and not __fish_seen_subcommand_from list search show export delete help" -f -a "show" -d 'Show one session as a transcript'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and not __fish_seen_subcommand_from list search show export delete help" -f -a "export" -d 'Export sessions as JSON, JSON Lines, Markdown or OpenAI fine-tuning lines'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and not __fish_seen_subcommand_from list search show export delete help" -f -a "delete" -d 'Delete a session and everything recorded for it'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and not __fish_seen_subcommand_from list search show export delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from list" -l limit -d 'How many sessions to list' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from list" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from list" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of a table'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from search" -l model -d 'Only sessions of this model' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from search" -l since -d 'Only sessions active since this long ago (e.g. 24h, 7d) or this date (2026-11-01)' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from search" -l limit -d 'How many sessions to show' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from search" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from search" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from search" -l json -d 'Print JSON instead of text'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from search" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from search" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from search" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from search" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from show" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from show" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from show" -l json -d 'Print JSON instead of a transcript'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from export" -l format -d 'Output format' -r -f -a "json\t''
jsonl\t''
markdown\t''
openai\t''"
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from export" -s o -l output -d 'Write to this file instead of stdout' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from export" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from export" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from export" -l all -d 'Export every session'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from export" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from export" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from delete" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from delete" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from help" -f -a "list" -d 'List sessions, newest first'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from help" -f -a "search" -d 'Find sessions by the words in their messages and answers, newest first'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one session as a transcript'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from help" -f -a "export" -d 'Export sessions as JSON, JSON Lines, Markdown or OpenAI fine-tuning lines'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a session and everything recorded for it'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand sessions; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand stats" -l since -d 'Only requests since this long ago (e.g. 24h, 7d) or this date (2026-11-01)' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand stats" -l by -d 'Group the figures' -r -f -a "model\t''
day\t''
hour\t''"
complete -c qwenctl -n "__fish_qwenctl_using_subcommand stats" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand stats" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand stats" -l json -d 'Print JSON instead of a table'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand stats" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand stats" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand stats" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand stats" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and not __fish_seen_subcommand_from add list remove login test help" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and not __fish_seen_subcommand_from add list remove login test help" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and not __fish_seen_subcommand_from add list remove login test help" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and not __fish_seen_subcommand_from add list remove login test help" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and not __fish_seen_subcommand_from add list remove login test help" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and not __fish_seen_subcommand_from add list remove login test help" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and not __fish_seen_subcommand_from add list remove login test help" -f -a "add" -d 'Add an account to the accounts file (or change its email and password); the password is read without echo, or from stdin when piped'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and not __fish_seen_subcommand_from add list remove login test help" -f -a "list" -d 'List the accounts in use: name, email (masked), token expiry, state'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and not __fish_seen_subcommand_from add list remove login test help" -f -a "remove" -d 'Remove an account from the accounts file, with its cached token'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and not __fish_seen_subcommand_from add list remove login test help" -f -a "login" -d 'Log in now (every account, or NAME) and cache the token'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and not __fish_seen_subcommand_from add list remove login test help" -f -a "test" -d 'Prove accounts upstream (every account, or NAME), logging in when needed'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and not __fish_seen_subcommand_from add list remove login test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from add" -l name -d 'Its name in logs, metrics and the store (default: the email\'s local part)' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from add" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from add" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from add" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from list" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from list" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from list" -l json -d 'Print JSON'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from remove" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from remove" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from login" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from login" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from login" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from login" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from login" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from login" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from test" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from test" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from test" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from test" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add an account to the accounts file (or change its email and password); the password is read without echo, or from stdin when piped'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the accounts in use: name, email (masked), token expiry, state'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove an account from the accounts file, with its cached token'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from help" -f -a "login" -d 'Log in now (every account, or NAME) and cache the token'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from help" -f -a "test" -d 'Prove accounts upstream (every account, or NAME), logging in when needed'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand accounts; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and not __fish_seen_subcommand_from backup vacuum prune migrate copy help" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and not __fish_seen_subcommand_from backup vacuum prune migrate copy help" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and not __fish_seen_subcommand_from backup vacuum prune migrate copy help" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and not __fish_seen_subcommand_from backup vacuum prune migrate copy help" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and not __fish_seen_subcommand_from backup vacuum prune migrate copy help" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and not __fish_seen_subcommand_from backup vacuum prune migrate copy help" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and not __fish_seen_subcommand_from backup vacuum prune migrate copy help" -f -a "backup" -d 'Copy the database to PATH with SQLite\'s online backup (safe while serve runs)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and not __fish_seen_subcommand_from backup vacuum prune migrate copy help" -f -a "vacuum" -d 'Reclaim free space'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and not __fish_seen_subcommand_from backup vacuum prune migrate copy help" -f -a "prune" -d 'Delete sessions and requests older than a duration'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and not __fish_seen_subcommand_from backup vacuum prune migrate copy help" -f -a "migrate" -d 'Bring the database schema up to date and exit (for deployments that migrate as a separate step; serve also migrates at start)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and not __fish_seen_subcommand_from backup vacuum prune migrate copy help" -f -a "copy" -d 'Copy the SQLite database into a PostgreSQL database (resumable: rows already there are skipped; every row is checked at the end)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and not __fish_seen_subcommand_from backup vacuum prune migrate copy help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from backup" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from backup" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from backup" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from backup" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from backup" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from backup" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from vacuum" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from vacuum" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from vacuum" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from vacuum" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from vacuum" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from vacuum" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from prune" -l older-than -d 'e.g. 30d, 12h' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from prune" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from prune" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from migrate" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from migrate" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from migrate" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from migrate" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from migrate" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from migrate" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from copy" -l to -d 'The PostgreSQL database to copy into (postgres://…; migrated first)' -r
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from copy" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from copy" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from copy" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from copy" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from copy" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from copy" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "backup" -d 'Copy the database to PATH with SQLite\'s online backup (safe while serve runs)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "vacuum" -d 'Reclaim free space'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Delete sessions and requests older than a duration'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "migrate" -d 'Bring the database schema up to date and exit (for deployments that migrate as a separate step; serve also migrates at start)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "copy" -d 'Copy the SQLite database into a PostgreSQL database (resumable: rows already there are skipped; every row is checked at the end)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand completions" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand completions" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand completions" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand completions" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand generate-assets" -l env-file -d 'Read variables from this file instead of ./.env' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand generate-assets" -l database -d 'SQLite database file (overrides DATABASE_PATH)' -r -F
complete -c qwenctl -n "__fish_qwenctl_using_subcommand generate-assets" -s v -l verbose -d 'More log output on stderr (-v debug, -vv trace)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand generate-assets" -s q -l quiet -d 'Only errors on stderr'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand generate-assets" -s h -l help -d 'Print help'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand generate-assets" -s V -l version -d 'Print version'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and not __fish_seen_subcommand_from serve chat models validate-config sessions stats accounts db completions generate-assets help" -f -a "serve" -d 'Run the HTTP proxy (OpenAI chat completions and Responses, Anthropic Messages)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and not __fish_seen_subcommand_from serve chat models validate-config sessions stats accounts db completions generate-assets help" -f -a "chat" -d 'Chat in the terminal: a REPL, or one-shot with a prompt or piped stdin'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and not __fish_seen_subcommand_from serve chat models validate-config sessions stats accounts db completions generate-assets help" -f -a "models" -d 'List the models the upstream offers'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and not __fish_seen_subcommand_from serve chat models validate-config sessions stats accounts db completions generate-assets help" -f -a "validate-config" -d 'Check the configuration (exit 0 when valid, 2 otherwise)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and not __fish_seen_subcommand_from serve chat models validate-config sessions stats accounts db completions generate-assets help" -f -a "sessions" -d 'Conversations recorded in the store'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and not __fish_seen_subcommand_from serve chat models validate-config sessions stats accounts db completions generate-assets help" -f -a "stats" -d 'Usage and performance figures from the store'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and not __fish_seen_subcommand_from serve chat models validate-config sessions stats accounts db completions generate-assets help" -f -a "accounts" -d 'Upstream accounts: add, list, remove, log in, test'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and not __fish_seen_subcommand_from serve chat models validate-config sessions stats accounts db completions generate-assets help" -f -a "db" -d 'Maintain the database: backup, vacuum, prune'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and not __fish_seen_subcommand_from serve chat models validate-config sessions stats accounts db completions generate-assets help" -f -a "completions" -d 'Print a shell completion script'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and not __fish_seen_subcommand_from serve chat models validate-config sessions stats accounts db completions generate-assets help" -f -a "generate-assets" -d 'Write the man pages and completion scripts into a directory (for packaging)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and not __fish_seen_subcommand_from serve chat models validate-config sessions stats accounts db completions generate-assets help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from sessions" -f -a "list" -d 'List sessions, newest first'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from sessions" -f -a "search" -d 'Find sessions by the words in their messages and answers, newest first'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from sessions" -f -a "show" -d 'Show one session as a transcript'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from sessions" -f -a "export" -d 'Export sessions as JSON, JSON Lines, Markdown or OpenAI fine-tuning lines'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from sessions" -f -a "delete" -d 'Delete a session and everything recorded for it'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from accounts" -f -a "add" -d 'Add an account to the accounts file (or change its email and password); the password is read without echo, or from stdin when piped'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from accounts" -f -a "list" -d 'List the accounts in use: name, email (masked), token expiry, state'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from accounts" -f -a "remove" -d 'Remove an account from the accounts file, with its cached token'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from accounts" -f -a "login" -d 'Log in now (every account, or NAME) and cache the token'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from accounts" -f -a "test" -d 'Prove accounts upstream (every account, or NAME), logging in when needed'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from db" -f -a "backup" -d 'Copy the database to PATH with SQLite\'s online backup (safe while serve runs)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from db" -f -a "vacuum" -d 'Reclaim free space'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from db" -f -a "prune" -d 'Delete sessions and requests older than a duration'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from db" -f -a "migrate" -d 'Bring the database schema up to date and exit (for deployments that migrate as a separate step; serve also migrates at start)'
complete -c qwenctl -n "__fish_qwenctl_using_subcommand help; and __fish_seen_subcommand_from db" -f -a "copy" -d 'Copy the SQLite database into a PostgreSQL database (resumable: rows already there are skipped; every row is checked at the end)'
