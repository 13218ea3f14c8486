"""The seed's walkthrough for one instance: python scripts/explain.py [overrides], e.g. explain.format=json."""

import json

import hydra

from backprop_by_example import picture
from backprop_by_example.config import Format, one_line_errors, user_path
from backprop_by_example.explain import instance, tables, walkthrough


@hydra.main(version_base="1.3", config_path="../conf", config_name="explain")
def main(cfg):
    with one_line_errors():
        x, t, W, V = instance(cfg)
    result = walkthrough(x, t, W, V)

    if cfg.explain.format == Format.json:
        print(json.dumps(result))
    else:
        print(tables(result, x, t, cfg.explain.instance))
        print(f"\nPicture: {cfg.explain.picture}")
    heading = f"Instance {cfg.explain.instance}"
    with one_line_errors():  # a full disk
        picture.save_png(picture.render(picture.draw(x, t, W, V, heading)), user_path(cfg.explain.picture))


if __name__ == "__main__":
    main()
