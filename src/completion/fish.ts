import { allNodes, QUEUES_COMMAND, valuedOptions, type CompletionNode } from './tree.js';

/** A word for a fish single-quoted string. */
const fq = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * The fish completion script, from the same command tree as bash's and zsh's: a function finds
 * the command path typed so far (skipping options and their values), and each command's
 * subcommands and options are offered under `__<bin>_at '<path>'`.
 */
export function fishScript(root: CompletionNode, bin = 'queuectl'): string {
  const fn = `__${bin.replace(/\W/g, '_')}`;
  const nodes = allNodes(root);
  const valued = valuedOptions(root).flatMap((o) => o.names);
  const lines: string[] = [];
  for (const node of nodes) {
    const at = `-n ${fq(`${fn}_at ${fq(node.path.join(' '))}`)}`;
    for (const sub of node.commands) {
      lines.push(`complete -c ${bin} ${at} -a ${fq(sub.path[sub.path.length - 1]!)} -d ${fq(sub.description.slice(0, 80))}`);
    }
    if (node.argQueues) lines.push(`complete -c ${bin} ${at} -a '(${bin} ${QUEUES_COMMAND} 2>/dev/null)'`);
    else if (node.argChoices) lines.push(`complete -c ${bin} ${at} -a ${fq(node.argChoices.join(' '))}`);
    // The root's options are global: offered after every command too.
    const options = node.path.length === 0 ? node.options : node.options.filter((o) => !o.names.includes('-h'));
    for (const o of options) {
      const where = node.path.length === 0 ? '' : `${at} `;
      const flags = o.names.map((n) => (n.startsWith('--') ? `-l ${n.slice(2)}` : `-s ${n.slice(1)}`)).join(' ');
      const value = !o.takesValue ? '' : o.file ? ' -r -F' : o.queue ? ` -x -a '(${bin} ${QUEUES_COMMAND} 2>/dev/null)'` : o.choices ? ` -x -a ${fq(o.choices.join(' '))}` : ' -x';
      lines.push(`complete -c ${bin} ${where}${flags}${value} -d ${fq(o.description.split('\n')[0]!.slice(0, 80))}`);
    }
  }
  return `# fish completion for ${bin}, generated from its commands by \`${bin} completion fish\`.
# Install: ${bin} completion fish > ~/.config/fish/completions/${bin}.fish

# The command path typed so far ('' at the top, 'dlq retry' …), options and their values skipped.
function ${fn}_path
  set -l paths ${nodes.map((n) => fq(n.path.join(' '))).join(' ')}
  set -l valued ${valued.map(fq).join(' ')}
  set -l path ''
  set -l skip 0
  for word in (commandline -opc)[2..-1]
    if test $skip = 1
      set skip 0
      continue
    end
    if string match -q -- '-*' $word
      if contains -- $word $valued
        set skip 1
      end
      continue
    end
    set -l next (string trim -- "$path $word")
    if contains -- $next $paths
      set path $next
    end
  end
  echo $path
end

function ${fn}_at
  set -l path (${fn}_path)
  test "$path" = "$argv[1]"
end

complete -c ${bin} -f
${lines.join('\n')}
`;
}
