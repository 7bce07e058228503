"""What a run shows besides numbers (matplotlib, Agg backend; no I/O but reading pictures):

    plots.py      loss curves (loss.png, runs compare --plot)
    pictures.py   one function per picture of what the network learned: arrays in, PNG/GIF out
    draw.py       which pictures apply to a run, drawn from its network's own forward pass
    html.py       the self-contained HTML report of a run, a sweep or runs compared
                  (template.html: its CSS and the few lines of JavaScript that sort tables)
"""
