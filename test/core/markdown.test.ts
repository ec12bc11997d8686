import { describe, expect, it } from 'vitest';
import { codeSpan, forTerminal, inert } from '../../src/core/markdown.ts';

describe('text for GitHub and for a terminal', () => {
  it.each([
    ['trained at 07:06', 'trained at 07:06'],
    ['${PYTHON:-python3} train.py', '${PYTHON:-python3} train.py'],
    ['<img src=x onerror=alert(1)> [link](http://evil)', '<img src=x onerror=alert(1)> [link](http://evil)'],
    // A literal reference in the text stays literal: its & was escaped, and decoding is one pass.
    ['a &#58; b', 'a &#58; b'],
    // The escape character goes, so what follows it is text, not a colour.
    ['line\nbreak\u001b[31mred', 'line break[31mred'],
  ])('shows %j in a terminal as it was, without control characters', (text, shown) => {
    expect(inert(text)).not.toMatch(/[<>[\]:]/);
    expect(forTerminal(inert(text))).toBe(shown);
  });

  it.each([
    ['${PYTHON:-python3} train.py --out out', '`${PYTHON:-python3} train.py --out out`'],
    ['echo `date`', '`` echo `date` ``'],
    ['`x`', '`` `x` ``'],
    ['a\nb', '`a b`'],
  ])('writes %j as a code span no text can end early', (text, span) => {
    expect(codeSpan(text)).toBe(span);
  });
});

describe('a terminal', () => {
  it('gets no control character from a reference that text it shows wrote itself', () => {
    // A model repo's train.command is shown as code, as written: its own "&#27;" must stay text.
    const shown = forTerminal(`- command: ${codeSpan('echo &#27;[31mred &#7;')}`);
    expect(shown).toBe('- command: `echo &#27;[31mred &#7;`');
    expect(shown).not.toMatch(/[\u0000-\u001f]/);
    expect(forTerminal('07&#58;06 &#60;b&#62;')).toBe('07:06 <b>');
  });
});
