
use builtin;
use str;

set edit:completion:arg-completer[qwenctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'qwenctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'qwenctl'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run the HTTP proxy (OpenAI chat completions and Responses, Anthropic Messages)'
            cand chat 'Chat in the terminal: a REPL, or one-shot with a prompt or piped stdin'
            cand models 'List the models the upstream offers'
            cand validate-config 'Check the configuration (exit 0 when valid, 2 otherwise)'
            cand sessions 'Conversations recorded in the store'
            cand stats 'Usage and performance figures from the store'
            cand accounts 'Upstream accounts: add, list, remove, log in, test'
            cand db 'Maintain the database: backup, vacuum, prune'
            cand completions 'Print a shell completion script'
            cand generate-assets 'Write the man pages and completion scripts into a directory (for packaging)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'qwenctl;serve'= {
            cand --host 'Bind address (overrides HOST)'
            cand --port 'Port (overrides PORT; 0 picks a free one)'
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand --fake-upstream 'Run the built-in fake of chat.qwen.ai in-process instead of the real service (no credentials needed)'
            cand --allow-unauthenticated 'Allow binding a non-loopback address without API_KEYS'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;chat'= {
            cand -f 'Add the contents of a file to the prompt, in a fenced block headed by its name (repeatable)'
            cand --file 'Add the contents of a file to the prompt, in a fenced block headed by its name (repeatable)'
            cand -m 'Model to use; a `-thinking` variant turns thinking on [default: qwen3-max, or the resumed session''s model]'
            cand --model 'Model to use; a `-thinking` variant turns thinking on [default: qwen3-max, or the resumed session''s model]'
            cand -s 'System prompt'
            cand --system 'System prompt'
            cand --resume 'Continue the session with this id'
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand --think 'Turn thinking on: the reasoning is shown dimmed (one-shot: on stderr, never on stdout)'
            cand --no-stream 'Print the answer at once instead of streaming it'
            cand --json 'Print the final chat.completion object as JSON'
            cand -c 'Continue the latest session'
            cand --continue 'Continue the latest session'
            cand --fake-upstream 'Chat with the built-in fake of chat.qwen.ai, in-process, instead of the real service (no credentials needed; it answers "You said: …")'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;models'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand --json 'Print JSON instead of a table'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;validate-config'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand --online 'Also prove the credentials against the upstream (auth check + model list)'
            cand --json 'Print the report as JSON'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;sessions'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List sessions, newest first'
            cand search 'Find sessions by the words in their messages and answers, newest first'
            cand show 'Show one session as a transcript'
            cand export 'Export sessions as JSON, JSON Lines, Markdown or OpenAI fine-tuning lines'
            cand delete 'Delete a session and everything recorded for it'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'qwenctl;sessions;list'= {
            cand --limit 'How many sessions to list'
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand --json 'Print JSON instead of a table'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;sessions;search'= {
            cand --model 'Only sessions of this model'
            cand --since 'Only sessions active since this long ago (e.g. 24h, 7d) or this date (2026-11-01)'
            cand --limit 'How many sessions to show'
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand --json 'Print JSON instead of text'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;sessions;show'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand --json 'Print JSON instead of a transcript'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;sessions;export'= {
            cand --format 'Output format'
            cand -o 'Write to this file instead of stdout'
            cand --output 'Write to this file instead of stdout'
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand --all 'Export every session'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;sessions;delete'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;sessions;help'= {
            cand list 'List sessions, newest first'
            cand search 'Find sessions by the words in their messages and answers, newest first'
            cand show 'Show one session as a transcript'
            cand export 'Export sessions as JSON, JSON Lines, Markdown or OpenAI fine-tuning lines'
            cand delete 'Delete a session and everything recorded for it'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'qwenctl;sessions;help;list'= {
        }
        &'qwenctl;sessions;help;search'= {
        }
        &'qwenctl;sessions;help;show'= {
        }
        &'qwenctl;sessions;help;export'= {
        }
        &'qwenctl;sessions;help;delete'= {
        }
        &'qwenctl;sessions;help;help'= {
        }
        &'qwenctl;stats'= {
            cand --since 'Only requests since this long ago (e.g. 24h, 7d) or this date (2026-11-01)'
            cand --by 'Group the figures'
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand --json 'Print JSON instead of a table'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;accounts'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand add 'Add an account to the accounts file (or change its email and password); the password is read without echo, or from stdin when piped'
            cand list 'List the accounts in use: name, email (masked), token expiry, state'
            cand remove 'Remove an account from the accounts file, with its cached token'
            cand login 'Log in now (every account, or NAME) and cache the token'
            cand test 'Prove accounts upstream (every account, or NAME), logging in when needed'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'qwenctl;accounts;add'= {
            cand --name 'Its name in logs, metrics and the store (default: the email''s local part)'
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;accounts;list'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand --json 'Print JSON'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;accounts;remove'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;accounts;login'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;accounts;test'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;accounts;help'= {
            cand add 'Add an account to the accounts file (or change its email and password); the password is read without echo, or from stdin when piped'
            cand list 'List the accounts in use: name, email (masked), token expiry, state'
            cand remove 'Remove an account from the accounts file, with its cached token'
            cand login 'Log in now (every account, or NAME) and cache the token'
            cand test 'Prove accounts upstream (every account, or NAME), logging in when needed'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'qwenctl;accounts;help;add'= {
        }
        &'qwenctl;accounts;help;list'= {
        }
        &'qwenctl;accounts;help;remove'= {
        }
        &'qwenctl;accounts;help;login'= {
        }
        &'qwenctl;accounts;help;test'= {
        }
        &'qwenctl;accounts;help;help'= {
        }
        &'qwenctl;db'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand backup 'Copy the database to PATH with SQLite''s online backup (safe while serve runs)'
            cand vacuum 'Reclaim free space'
            cand prune 'Delete sessions and requests older than a duration'
            cand migrate 'Bring the database schema up to date and exit (for deployments that migrate as a separate step; serve also migrates at start)'
            cand copy 'Copy the SQLite database into a PostgreSQL database (resumable: rows already there are skipped; every row is checked at the end)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'qwenctl;db;backup'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;db;vacuum'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;db;prune'= {
            cand --older-than 'e.g. 30d, 12h'
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;db;migrate'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;db;copy'= {
            cand --to 'The PostgreSQL database to copy into (postgres://…; migrated first)'
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;db;help'= {
            cand backup 'Copy the database to PATH with SQLite''s online backup (safe while serve runs)'
            cand vacuum 'Reclaim free space'
            cand prune 'Delete sessions and requests older than a duration'
            cand migrate 'Bring the database schema up to date and exit (for deployments that migrate as a separate step; serve also migrates at start)'
            cand copy 'Copy the SQLite database into a PostgreSQL database (resumable: rows already there are skipped; every row is checked at the end)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'qwenctl;db;help;backup'= {
        }
        &'qwenctl;db;help;vacuum'= {
        }
        &'qwenctl;db;help;prune'= {
        }
        &'qwenctl;db;help;migrate'= {
        }
        &'qwenctl;db;help;copy'= {
        }
        &'qwenctl;db;help;help'= {
        }
        &'qwenctl;completions'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;generate-assets'= {
            cand --env-file 'Read variables from this file instead of ./.env'
            cand --database 'SQLite database file (overrides DATABASE_PATH)'
            cand -v 'More log output on stderr (-v debug, -vv trace)'
            cand --verbose 'More log output on stderr (-v debug, -vv trace)'
            cand -q 'Only errors on stderr'
            cand --quiet 'Only errors on stderr'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'qwenctl;help'= {
            cand serve 'Run the HTTP proxy (OpenAI chat completions and Responses, Anthropic Messages)'
            cand chat 'Chat in the terminal: a REPL, or one-shot with a prompt or piped stdin'
            cand models 'List the models the upstream offers'
            cand validate-config 'Check the configuration (exit 0 when valid, 2 otherwise)'
            cand sessions 'Conversations recorded in the store'
            cand stats 'Usage and performance figures from the store'
            cand accounts 'Upstream accounts: add, list, remove, log in, test'
            cand db 'Maintain the database: backup, vacuum, prune'
            cand completions 'Print a shell completion script'
            cand generate-assets 'Write the man pages and completion scripts into a directory (for packaging)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'qwenctl;help;serve'= {
        }
        &'qwenctl;help;chat'= {
        }
        &'qwenctl;help;models'= {
        }
        &'qwenctl;help;validate-config'= {
        }
        &'qwenctl;help;sessions'= {
            cand list 'List sessions, newest first'
            cand search 'Find sessions by the words in their messages and answers, newest first'
            cand show 'Show one session as a transcript'
            cand export 'Export sessions as JSON, JSON Lines, Markdown or OpenAI fine-tuning lines'
            cand delete 'Delete a session and everything recorded for it'
        }
        &'qwenctl;help;sessions;list'= {
        }
        &'qwenctl;help;sessions;search'= {
        }
        &'qwenctl;help;sessions;show'= {
        }
        &'qwenctl;help;sessions;export'= {
        }
        &'qwenctl;help;sessions;delete'= {
        }
        &'qwenctl;help;stats'= {
        }
        &'qwenctl;help;accounts'= {
            cand add 'Add an account to the accounts file (or change its email and password); the password is read without echo, or from stdin when piped'
            cand list 'List the accounts in use: name, email (masked), token expiry, state'
            cand remove 'Remove an account from the accounts file, with its cached token'
            cand login 'Log in now (every account, or NAME) and cache the token'
            cand test 'Prove accounts upstream (every account, or NAME), logging in when needed'
        }
        &'qwenctl;help;accounts;add'= {
        }
        &'qwenctl;help;accounts;list'= {
        }
        &'qwenctl;help;accounts;remove'= {
        }
        &'qwenctl;help;accounts;login'= {
        }
        &'qwenctl;help;accounts;test'= {
        }
        &'qwenctl;help;db'= {
            cand backup 'Copy the database to PATH with SQLite''s online backup (safe while serve runs)'
            cand vacuum 'Reclaim free space'
            cand prune 'Delete sessions and requests older than a duration'
            cand migrate 'Bring the database schema up to date and exit (for deployments that migrate as a separate step; serve also migrates at start)'
            cand copy 'Copy the SQLite database into a PostgreSQL database (resumable: rows already there are skipped; every row is checked at the end)'
        }
        &'qwenctl;help;db;backup'= {
        }
        &'qwenctl;help;db;vacuum'= {
        }
        &'qwenctl;help;db;prune'= {
        }
        &'qwenctl;help;db;migrate'= {
        }
        &'qwenctl;help;db;copy'= {
        }
        &'qwenctl;help;completions'= {
        }
        &'qwenctl;help;generate-assets'= {
        }
        &'qwenctl;help;help'= {
        }
    ]
    $completions[$command]
}
