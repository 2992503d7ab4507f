# fish completion for berrymq and berrymq-hub. Verbs and options are read
# from the programs' own --help, so they match the installed version;
# instance ids come from the running hub.

function __berrymq_help --argument-names prog verb
    if test -n "$verb"
        $prog $verb --help 2>/dev/null
    else
        $prog --help 2>/dev/null
    end
end

function __berrymq_options --argument-names prog verb
    __berrymq_help $prog $verb | string match -ar -- '(?:^|[\[ ,])(--?[A-Za-z][A-Za-z0-9-]*)' \
        | string match -r -- '^--?[A-Za-z].*' | sort -u
end

function __berrymq_verbs --argument-names prog
    set -l in 0
    for line in (__berrymq_help $prog)
        if string match -q 'Commands:*' -- $line
            set in 1
        else if test $in = 1
            string match -qr '^  [a-z]' -- $line; or break
            string match -r -g '^  ([a-z][a-z-]*)' -- $line
            string match -r -g '\(alias: ([a-z]+)\)' -- $line
        end
    end
end

# The verb on the command line (first word that is not an option or the
# value of --hub/--secret), or nothing.
function __berrymq_verb
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    for w in $words
        if test $skip = 1
            set skip 0
        else if contains -- $w --hub --secret
            set skip 1
        else if not string match -q -- '-*' $w
            echo $w
            return
        end
    end
end

function __berrymq_complete
    set -l prog (commandline -opc)[1]
    set -l tok (commandline -ct)
    set -l verb (__berrymq_verb)
    set -l words (commandline -opc)
    if test -z "$verb"
        if string match -q -- '-*' $tok
            __berrymq_options $prog
        else
            __berrymq_verbs $prog
            echo help
        end
        return
    end
    if string match -q -- '-*' $tok
        __berrymq_options $prog $verb
        return
    end
    switch $verb
        case help
            __berrymq_verbs $prog
        case plugin
            set -l sub
            for w in $words[3..-1]
                string match -q -- '-*' $w; and continue
                set sub $w
                break
            end
            switch "$sub"
                case ''
                    __berrymq_help $prog plugin | string match -r -g 'berrymq plugin ([a-z]+)'
                case enable disable
                    timeout 1 $prog status --json 2>/dev/null | string match -r -g '^\s*"id": "([^"]*)",$' | sort -u
                case remove
                    timeout 1 $prog status --json 2>/dev/null | string match -r -g '^\s*"plugin": "([^"]*)",$' | sort -u
                case install
                    __fish_complete_suffix .so
            end
        case notify
            if contains -- (commandline -opc)[-1] -u --urgency
                printf '%s\n' low normal critical
            end
        case publish
            if contains -- (commandline -opc)[-1] -p --priority
                printf '%s\n' min low default high max urgent 1 2 3 4 5
            end
    end
end

complete -c berrymq -f -a '(__berrymq_complete)'
complete -c berrymq-hub -f -a '(__berrymq_options berrymq-hub)'
complete -c berrymq-hub -s c -l config -r -F
complete -c berrymq-hub -s p -l plugin-dir -r -a '(__fish_complete_directories)'
