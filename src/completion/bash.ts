import { allNodes, QUEUES_COMMAND, sq, valuedOptions, type CompletionNode, type CompletionOption } from './tree.js';

/**
 * The bash completion script, generated from the program's command tree. The shell side only
 * walks the words typed so far to find the command path (skipping options and their values), then
 * offers that command's subcommands, options, argument choices, or an option's values.
 */
export function bashScript(root: CompletionNode, bin = 'queuectl'): string {
  const fn = `_${bin.replace(/\W/g, '_')}`;
  const nodes = allNodes(root);
  const key = (n: CompletionNode) => sq(n.path.join(' '));
  const cases = (rows: [CompletionNode, string[]][]) =>
    rows.filter(([, words]) => words.length > 0).map(([n, words]) => `    ${key(n)}) printf '%s\\n' ${words.map(sq).join(' ')} ;;`).join('\n');
  const names = (o: CompletionOption) => o.names.map(sq).join('|');

  return `# bash completion for ${bin}, generated from its commands by \`${bin} completion bash\`.
# Install for this shell:   source <(${bin} completion bash)
# Keep it:                  echo 'source <(${bin} completion bash)' >> ~/.bashrc

${fn}_commands() {
  case "$1" in
${cases(nodes.map((n) => [n, n.commands.map((c) => c.path[c.path.length - 1])]))}
  esac
}

${fn}_options() {
  case "$1" in
${cases(nodes.map((n) => [n, n.options.flatMap((o) => o.names)]))}
  esac
}

${fn}_args() {
  case "$1" in
${cases(nodes.map((n) => [n, n.argQueues ? ['@queue'] : n.argChoices ?? []]))}
  esac
}

# Prints what may follow an option that takes a value (@file: a file name); fails for other words.
${fn}_value() {
  case "$1" in
${valuedOptions(root).map((o) => `    ${names(o)}) printf '%s\\n' ${o.file ? "'@file'" : o.queue ? "'@queue'" : (o.choices ?? []).map(sq).join(' ')} ;;`).join('\n')}
    *) return 1 ;;
  esac
}

${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmdpath='' word subs values i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ $word == -* ]]; then
      if [[ $word != *=* ]] && ${fn}_value "$word" >/dev/null; then ((i += 1)); fi
      continue
    fi
    subs=" $(${fn}_commands "$cmdpath" | tr '\\n' ' ') "
    if [[ $subs == *" $word "* ]]; then cmdpath="\${cmdpath:+$cmdpath }$word"; fi
  done
  if [[ $prev == -* ]] && values="$(${fn}_value "$prev")"; then
    if [[ $values == @file ]]; then
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "$cur"))
    elif [[ $values == @queue ]]; then
      COMPREPLY=($(compgen -W "$(${bin} ${QUEUES_COMMAND} 2>/dev/null)" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$values" -- "$cur"))
    fi
    return 0
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(${fn}_options "$cmdpath") $([[ -n $cmdpath ]] && ${fn}_options '')" -- "$cur"))
  else
    values="$(${fn}_args "$cmdpath")"
    [[ $values == @queue ]] && values="$(${bin} ${QUEUES_COMMAND} 2>/dev/null)"
    COMPREPLY=($(compgen -W "$(${fn}_commands "$cmdpath") $values" -- "$cur"))
  fi
  return 0
}

complete -F ${fn} ${bin}
`;
}
