"""The seed's walkthrough for one instance, tables and pictures: python scripts/explain.py [overrides], e.g.
explain.format=json."""

import json
from pathlib import Path

import hydra

from backprop_by_example.pictures import page, picture
from backprop_by_example.pictures.explain import instance, stage_pictures, tables, walkthrough
from backprop_by_example.run.errors import one_line_errors
from backprop_by_example.run.inputs import load
from backprop_by_example.run.paths import user_path
from backprop_by_example.run.schema import Format, register


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
        print(f"The backward pass stage by stage: {cfg.explain.stages}/backward.gif and stage1-forward.png ...")
        if cfg.explain.page:
            print(f"To step through and edit, in a browser: {cfg.explain.stages}/backprop.html")
    heading = f"Instance {cfg.explain.instance}"
    stages_dir = Path(user_path(cfg.explain.stages))
    with one_line_errors():  # a full disk
        picture.save_png(picture.render(picture.draw(x, t, W, V, heading)), user_path(cfg.explain.picture))
        frames = stage_pictures(x, t, W, V, heading)
        for name, image in frames:
            picture.save_png(image, stages_dir / name)
        picture.save_gif([image for _, image in frames], stages_dir / "backward.gif", cfg.explain.seconds_per_frame)
        if cfg.explain.page:
            X, T = load(cfg.data, cfg.model)
            text = page.explain_page(x, t, W, V, X, T, cfg.optimizer.lr, cfg.explain.instance, heading)
            page.write(stages_dir / "backprop.html", text)


if __name__ == "__main__":
    register()
    main()
