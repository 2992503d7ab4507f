# bash completion for berrymq and berrymq-hub.
#
# Verbs and options are read from the programs' own --help (once per shell
# and command), so the completion always matches the installed version.
# Instance ids (plugin enable/disable) and plugin names (plugin remove) come
# from the running hub when one answers within a second.

_berrymq_help_cache=()

# _berrymq_help PROG [VERB]: the --help text, cached.
_berrymq_help()
{
    local key="$1 ${2-}" i
    for ((i = 0; i < ${#_berrymq_help_cache[@]}; i += 2)); do
        if [[ ${_berrymq_help_cache[i]} == "$key" ]]; then
            printf '%s\n' "${_berrymq_help_cache[i + 1]}"
            return
        fi
    done
    local text
    if [[ -n ${2-} ]]; then
        text=$("$1" "$2" --help 2>/dev/null)
    else
        text=$("$1" --help-all 2>/dev/null || "$1" --help 2>/dev/null)
    fi
    _berrymq_help_cache+=("$key" "$text")
    printf '%s\n' "$text"
}

# Options named in a help text: "-x, --long", "--long=ARG", "[--flag]".
_berrymq_options()
{
    grep -oE '(^|[[ ,])--?[A-Za-z][A-Za-z0-9-]*' | sed -E 's/^[[ ,]//' | sort -u
}

_berrymq_verbs()
{
    _berrymq_help "$1" | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'
    _berrymq_help "$1" | sed -n 's/.*(alias: \([a-z]*\)).*/\1/p'
}

_berrymq_hub_field()
{
    timeout 1 "$1" status --json 2>/dev/null |
        sed -n "s/^[[:space:]]*\"$2\": \"\\([^\"]*\\)\",\$/\\1/p" | sort -u
}

_berrymq()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    fi
    local prog=${words[0]} verb= sub= i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        --hub | --secret) ((i++)) ;;
        -*) ;;
        *)
            if [[ -z $verb ]]; then verb=${words[i]}; elif [[ -z $sub ]]; then sub=${words[i]}; fi
            ;;
        esac
    done
    case $prev in
    --hub | --secret | -k | --kwarg | --json-args | --json-kwargs | -t | --timeout | \
        --expire-time | -n | --count | -c | --category | --hint | -r | --replace-id | \
        -A | --action | --id | --config | -a | --app-name | --title | --tags | --click | \
        -s | --since | --until | --limit)
        return
        ;;
    -p | --priority)
        if [[ $verb == publish ]]; then
            COMPREPLY=($(compgen -W 'min low default high max urgent 1 2 3 4 5' -- "$cur"))
            return
        fi
        ;;
    -h)
        [[ $verb == notify ]] && return # notify-send's -h is --hint
        ;;
    -u | --urgency)
        # history's -u is --until
        [[ $verb == notify ]] && COMPREPLY=($(compgen -W 'low normal critical' -- "$cur"))
        return
        ;;
    -i | --icon)
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    esac
    if [[ -z $verb ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$(_berrymq_help "$prog" | _berrymq_options)" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "help $(_berrymq_verbs "$prog")" -- "$cur"))
        fi
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_berrymq_help "$prog" "$verb" | _berrymq_options)" -- "$cur"))
        return
    fi
    case $verb in
    help)
        [[ -z $sub ]] && COMPREPLY=($(compgen -W "$(_berrymq_verbs "$prog")" -- "$cur"))
        ;;
    plugin)
        if [[ -z $sub ]]; then
            COMPREPLY=($(compgen -W "$(_berrymq_help "$prog" plugin |
                sed -n 's/^.*berrymq plugin \([a-z]*\).*/\1/p')" -- "$cur"))
        else
            case $sub in
            enable | disable) COMPREPLY=($(compgen -W "$(_berrymq_hub_field "$prog" id)" -- "$cur")) ;;
            remove) COMPREPLY=($(compgen -W "$(_berrymq_hub_field "$prog" plugin)" -- "$cur")) ;;
            install) COMPREPLY=($(compgen -f -X '!*.so' -- "$cur") $(compgen -d -- "$cur")) ;;
            esac
        fi
        ;;
    esac
}

_berrymq_hub()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    case $prev in
    -c | --config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -p | --plugin-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    -l | --listen) return ;;
    esac
    COMPREPLY=($(compgen -W "$(_berrymq_help "${COMP_WORDS[0]}" | _berrymq_options)" -- "$cur"))
}

complete -F _berrymq berrymq
complete -F _berrymq_hub berrymq-hub
