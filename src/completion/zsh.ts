import { allNodes, QUEUES_COMMAND, sq, valuedOptions, type CompletionNode, type CompletionOption } from './tree.js';

/** Descriptions shown by zsh: one line, and short enough for a completion menu. */
function short(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 70 ? `${line.slice(0, 69)}…` : line;
}

/**
 * The zsh completion script (a `#compdef` file), generated from the same command tree as bash's,
 * with descriptions for commands and options.
 */
export function zshScript(root: CompletionNode, bin = 'queuectl'): string {
  const fn = `_${bin.replace(/\W/g, '_')}`;
  const nodes = allNodes(root);
  const key = (n: CompletionNode) => sq(n.path.join(' '));
  const cases = (rows: [CompletionNode, string[]][]) =>
    rows.filter(([, words]) => words.length > 0).map(([n, words]) => `    ${key(n)}) reply=(${words.map(sq).join(' ')}) ;;`).join('\n');
  const described = (name: string, description: string) => `${name.replace(/:/g, '\\:')}:${short(description)}`;
  const names = (o: CompletionOption) => o.names.map(sq).join('|');

  return `#compdef ${bin}
# zsh completion for ${bin}, generated from its commands by \`${bin} completion zsh\`.
# Install:  ${bin} completion zsh > "\${fpath[1]}/_${bin}"   then start a new shell (compinit loads it).

${fn}_commands() {
  reply=()
  case "$1" in
${cases(nodes.map((n) => [n, n.commands.map((c) => described(c.path[c.path.length - 1], c.description))]))}
  esac
}

${fn}_options() {
  reply=()
  case "$1" in
${cases(nodes.map((n) => [n, n.options.flatMap((o) => o.names.map((name) => described(name, o.description)))]))}
  esac
}

${fn}_args() {
  reply=()
  case "$1" in
${cases(nodes.map((n) => [n, n.argQueues ? ['@queue'] : n.argChoices ?? []]))}
  esac
}

# Sets reply to what may follow an option that takes a value (@file: a file name); fails for other words.
${fn}_value() {
  reply=()
  case "$1" in
${valuedOptions(root).map((o) => `    ${names(o)}) reply=(${o.file ? "'@file'" : o.queue ? "'@queue'" : (o.choices ?? []).map(sq).join(' ')}) ;;`).join('\n')}
    *) return 1 ;;
  esac
}

${fn}() {
  local cmdpath='' word prev i
  local -a reply subs items
  for (( i = 2; i < CURRENT; i++ )); do
    word=\${words[i]}
    if [[ $word == -* ]]; then
      if [[ $word != *=* ]] && ${fn}_value "$word"; then (( i += 1 )); fi
      continue
    fi
    ${fn}_commands "$cmdpath"
    subs=(\${reply%%:*})
    if (( \${subs[(Ie)$word]} )); then cmdpath=\${cmdpath:+$cmdpath }$word; fi
  done
  prev=\${words[CURRENT-1]}
  if [[ $prev == -* ]] && ${fn}_value "$prev"; then
    [[ \${reply[1]} == @queue ]] && reply=(\${(f)"$(${bin} ${QUEUES_COMMAND} 2>/dev/null)"})
    if [[ \${reply[1]} == @file ]]; then _files; elif (( \${#reply} )); then compadd -a reply; fi
    return
  fi
  if [[ \${words[CURRENT]} == -* ]]; then
    ${fn}_options "$cmdpath"; items=($reply)
    if [[ -n $cmdpath ]]; then ${fn}_options ''; items+=($reply); fi
    _describe -t options option items
  else
    ${fn}_commands "$cmdpath"; items=($reply)
    if (( \${#items} )); then
      _describe -t commands command items
    else
      ${fn}_args "$cmdpath"
      [[ \${reply[1]} == @queue ]] && reply=(\${(f)"$(${bin} ${QUEUES_COMMAND} 2>/dev/null)"})
      (( \${#reply} )) && compadd -a reply
    fi
  fi
}

${fn} "$@"
`;
}
