"""Colours a scheme may give a grade: #rgb, #rrggbb or a CSS colour name, nothing else.

A grade's colour ends up in a style attribute, an Excel fill and a terminal; anything that is
not plainly a colour (`red;background-image:url(…)`) is refused when the scheme is checked.
"""

from __future__ import annotations

import re

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")

# The named colours of CSS Color Module Level 4 (https://www.w3.org/TR/css-color-4/#named-colors).
_NAMES = """
    aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue
    blueviolet brown burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk
    crimson cyan darkblue darkcyan darkgoldenrod darkgray darkgreen darkgrey darkkhaki
    darkmagenta darkolivegreen darkorange darkorchid darkred darksalmon darkseagreen
    darkslateblue darkslategray darkslategrey darkturquoise darkviolet deeppink deepskyblue
    dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite
    gold goldenrod gray green greenyellow grey honeydew hotpink indianred indigo ivory khaki
    lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan
    lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen
    lightskyblue lightslategray lightslategrey lightsteelblue lightyellow lime limegreen linen
    magenta maroon mediumaquamarine mediumblue mediumorchid mediumpurple mediumseagreen
    mediumslateblue mediumspringgreen mediumturquoise mediumvioletred midnightblue mintcream
    mistyrose moccasin navajowhite navy oldlace olive olivedrab orange orangered orchid
    palegoldenrod palegreen paleturquoise palevioletred papayawhip peachpuff peru pink plum
    powderblue purple rebeccapurple red rosybrown royalblue saddlebrown salmon sandybrown
    seagreen seashell sienna silver skyblue slateblue slategray slategrey snow springgreen
    steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow
    yellowgreen
"""
CSS_COLOR_NAMES = frozenset(_NAMES.split())


def is_color(text: str) -> bool:
    """Return True if text is #rgb, #rrggbb or a CSS colour name (any case)."""
    return bool(_HEX.fullmatch(text)) or text.lower() in CSS_COLOR_NAMES


def check_color(text: str) -> str:
    """Return text if it is a colour (for a pydantic validator), else raise ValueError."""
    if not is_color(text):
        raise ValueError(
            f"`color` {text[:40]!r} is not a colour: write #rgb or #rrggbb (e.g. #1a9850) "
            "or a CSS colour name (e.g. green)"
        )
    return text
